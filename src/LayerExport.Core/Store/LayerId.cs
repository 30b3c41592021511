using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace LayerExport.Core.Store;

/// <summary>A validated layer ID: one safe path component, never <c>.</c>, <c>..</c> or anything with a slash.</summary>
public readonly partial record struct LayerId
{
    private LayerId(string value) => Value = value;

    /// <summary>The ID text.</summary>
    public string Value { get; }

    /// <summary>The accepted form, for messages and documentation.</summary>
    public const string Pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";

    /// <summary>Accepts <paramref name="text"/> when it has the form of a layer ID.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out LayerId id)
    {
        id = default;
        if (text is null || !IdRegex().IsMatch(text))
        {
            return false;
        }

        id = new LayerId(text);
        return true;
    }

    /// <summary>Parses <paramref name="text"/> or throws <see cref="InvalidLayerIdException"/>.</summary>
    public static LayerId Parse(string? text) =>
        TryParse(text, out var id) ? id : throw new InvalidLayerIdException(text);

    /// <inheritdoc />
    public override string ToString() => Value;

    // \z, not $: $ would accept a trailing newline.
    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex IdRegex();
}
