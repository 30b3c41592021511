namespace LayerExport.Core.Tests.Support;

/// <summary>Tests that count the process's file descriptors, C heap or large file reads, or mount file systems; they run alone, after every parallel test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTests
{
    public const string Name = "Serial: counts file descriptors";
}
