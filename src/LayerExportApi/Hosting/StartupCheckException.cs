namespace LayerExportApi.Hosting;

/// <summary>A start-up check that failed: the server must not serve in this state; the message says why.</summary>
internal sealed class StartupCheckException(string message) : Exception(message);
