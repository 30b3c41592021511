using System.Text.Json;

namespace LayerExport.Core.Store;

/// <summary>Text read from a store's metadata file, or a request's value refused as an ID, as an error message quotes it.</summary>
/// <remarks>
/// Problem details reach HTTP clients and every log line repeats them, and a metadata file can be up to 64 KiB of
/// anything (even a hard link to another file of the store's file system). A value that is not what it should be
/// is quoted only as far as a valid one could go.
/// </remarks>
internal static class MetadataText
{
    // Longer than any valid value: a chain ID or digest is 71 characters, a Windows layer path about 130.
    private const int QuotedLength = 160;

    /// <summary>The first characters of <paramref name="text"/>, escaped as <see cref="MessageText.Escape"/> does, and how many more there were.</summary>
    public static string Quote(string text)
    {
        if (text.Length <= QuotedLength)
        {
            return MessageText.Escape(text);
        }

        // Never half of a surrogate pair: the detail must stay valid text.
        var cut = char.IsHighSurrogate(text[QuotedLength - 1]) ? QuotedLength - 1 : QuotedLength;
        return $"{MessageText.Escape(text[..cut])}... ({text.Length - cut} more characters)";
    }

    /// <summary>What is wrong with a JSON text and where, in the words of a message: "line 2, byte 12: ..." ("byte 12: ..." on the first line).</summary>
    /// <remarks>The parser's own message ends in its internal coordinates (<c>Path: $ | LineNumber: 0 | BytePositionInLine: 11.</c>), counted from 0.</remarks>
    public static string DescribeJsonError(JsonException error)
    {
        var message = error.Message;
        var internals = message.IndexOf(" Path: ", StringComparison.Ordinal) is var path and >= 0 ? path : message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        var what = (internals >= 0 ? message[..internals] : message).TrimEnd();
        var where = (error.LineNumber, error.BytePositionInLine) switch
        {
            (0, { } position) => $"byte {position + 1}",
            ({ } line, { } position) => $"line {line + 1}, byte {position + 1}",
            _ => null,
        };
        return where is null ? what : what.Length == 0 ? where : $"{where}: {what}";
    }
}
