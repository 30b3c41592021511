namespace LayerExport.Core.Store;

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

    // A caller may send 32 KiB of one value: the detail quotes it only as far as an ID could go.
    private static string? Quoted(string? text) => text is null ? null : MetadataText.Quote(text);
}
