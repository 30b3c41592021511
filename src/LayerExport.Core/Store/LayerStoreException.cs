namespace LayerExport.Core.Store;

/// <summary>Why a layer cannot be exported, known before any byte is sent.</summary>
public abstract class LayerStoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The text given is not a layer ID.</summary>
public sealed class InvalidLayerIdException : LayerStoreException
{
    private readonly string _form;

    /// <summary>The text, refused as an ID of the common form (<see cref="LayerId.Pattern"/>).</summary>
    public InvalidLayerIdException(string? text)
        : this(text, $"IDs match {LayerId.Pattern}")
    {
    }

    /// <summary>The text, refused as an ID of the store's own <paramref name="form"/> (what its detail says IDs are).</summary>
    public InvalidLayerIdException(string? text, string form)
        : this($"'{Quoted(text)}' is not a layer ID: {form}.", text, form)
    {
    }

    private InvalidLayerIdException(string message, string? text, string form)
        : base(message)
    {
        Text = text;
        _form = form;
    }

    /// <summary>The text that is not an ID.</summary>
    public string? Text { get; }

    /// <summary>The same refusal, saying the text was the value of <paramref name="parameter"/>.</summary>
    public InvalidLayerIdException Of(string parameter) =>
        new($"The {parameter} value '{Quoted(Text)}' is not a layer ID: {_form}.", Text, _form);

    // A request line may hold 32 KiB of one value: the detail quotes it only as far as an ID could go.
    private static string? Quoted(string? text) => text is null ? null : MetadataText.Quote(text);
}

/// <summary>No layer has this ID.</summary>
public sealed class LayerNotFoundException(LayerId id)
    : LayerStoreException($"Layer '{id}' is not in the store.")
{
    /// <summary>The missing layer.</summary>
    public LayerId Id { get; } = id;
}

/// <summary>The caller's parent chain is not the one the store records.</summary>
public sealed class ParentChainMismatchException(LayerId id, IReadOnlyList<string> requested, IReadOnlyList<string> recorded)
    : LayerStoreException(
        $"Layer '{id}' has the recorded parent chain [{string.Join(", ", recorded)}] (nearest first); "
        + $"the request named [{string.Join(", ", requested)}], which is not its start.")
{
    /// <summary>The chain the store records, nearest parent first.</summary>
    public IReadOnlyList<string> RecordedChain { get; } = recorded;
}

/// <summary>The store holds something the server refuses to read, such as a symlink in place of a layer directory.</summary>
public sealed class LayerRefusedException(string message) : LayerStoreException(message);

/// <summary>The store contradicts itself: a missing parent, a cycle, unreadable metadata.</summary>
public sealed class LayerStoreCorruptException(string message, Exception? inner = null) : LayerStoreException(message, inner);

/// <summary>The store as a whole cannot be read now, such as a root directory deleted while the server runs.</summary>
public sealed class LayerStoreUnavailableException(string message, Exception? inner = null) : LayerStoreException(message, inner);
