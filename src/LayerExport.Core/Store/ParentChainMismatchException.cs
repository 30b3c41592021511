namespace LayerExport.Core.Store;

/// <summary>The caller's parent chain is not the one the store records.</summary>
public sealed class ParentChainMismatchException(LayerId id, IReadOnlyList<string> requested, IReadOnlyList<string> recorded)
    : LayerStoreException(
        $"Layer '{id}' has the recorded parent chain [{string.Join(", ", recorded)}] (nearest first); "
        + $"the request named [{string.Join(", ", requested)}], which is not its start.")
{
    /// <summary>The chain the store records, nearest parent first.</summary>
    public IReadOnlyList<string> RecordedChain { get; } = recorded;
}
