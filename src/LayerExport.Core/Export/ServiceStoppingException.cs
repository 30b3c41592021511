namespace LayerExport.Core.Export;

/// <summary>The service is stopping and starts no more work; asking again after the restart will do.</summary>
public sealed class ServiceStoppingException() : Exception("The service is stopping; ask again once it has restarted.");
