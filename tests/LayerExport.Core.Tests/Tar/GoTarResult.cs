namespace LayerExport.Core.Tests.Tar;

/// <summary>What the Go reference program did: exit code, the tar it wrote to stdout, and its stderr.</summary>
public sealed record GoTarResult(int ExitCode, byte[] Output, string Error);
