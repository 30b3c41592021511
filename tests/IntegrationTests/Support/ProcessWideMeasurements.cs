namespace IntegrationTests.Support;

/// <summary>Tests that measure the whole test process (its open descriptors) and so must run alone.</summary>
[CollectionDefinition(nameof(ProcessWideMeasurements), DisableParallelization = true)]
public sealed class ProcessWideMeasurements;
