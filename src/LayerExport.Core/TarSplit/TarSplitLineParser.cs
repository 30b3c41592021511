using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text.Json;
using LayerExport.Core.Store;

namespace LayerExport.Core.TarSplit;

/// <summary>Turns one JSON line of a tar-split record into an entry, or says precisely why it cannot.</summary>
/// <remarks>
/// The fields are those tar-split's Go encoder writes: <c>type</c>, <c>name</c>, <c>name_raw</c>, <c>size</c>,
/// <c>payload</c> (base64) and <c>position</c>; absent or null fields take their zero value and unknown fields are
/// skipped, as Go's decoder does.
/// </remarks>
internal static class TarSplitLineParser
{
    private const int ChecksumLength = 8;

    // Multiple values are allowed only so that a second one is reported as such rather than as a syntax error.
    private static readonly JsonReaderOptions Options = new() { AllowMultipleValues = true };

    public static TarSplitEntry Parse(ReadOnlySpan<byte> line, long lineNumber)
    {
        long type = 0, size = 0, position = 0;
        ReadOnlyMemory<byte> name = default, nameRaw = default, payload = default;
        try
        {
            var reader = new Utf8JsonReader(line, Options);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new TarSplitRecordException(lineNumber, "not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    type = ReadInteger(ref reader, "type", lineNumber);
                }
                else if (reader.ValueTextEquals("name"u8))
                {
                    name = ReadString(ref reader, "name", lineNumber);
                }
                else if (reader.ValueTextEquals("name_raw"u8))
                {
                    nameRaw = ReadBase64(ref reader, "name_raw", lineNumber);
                }
                else if (reader.ValueTextEquals("size"u8))
                {
                    size = ReadInteger(ref reader, "size", lineNumber);
                }
                else if (reader.ValueTextEquals("payload"u8))
                {
                    payload = ReadBase64(ref reader, "payload", lineNumber);
                }
                else if (reader.ValueTextEquals("position"u8))
                {
                    position = ReadInteger(ref reader, "position", lineNumber);
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.Read())
            {
                throw new TarSplitRecordException(lineNumber, "more than one JSON value on the line");
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a property name whose escapes make no UTF-8, found when it is compared.
            throw new TarSplitRecordException(lineNumber, $"malformed JSON ({(e is JsonException json ? MetadataText.DescribeJsonError(json) : e.Message)})", e);
        }

        return type switch
        {
            (long)TarSplitEntryType.Segment => TarSplitEntry.ForSegment(payload, position, lineNumber),
            (long)TarSplitEntryType.File => File(nameRaw.IsEmpty ? name : nameRaw, size, payload, position, lineNumber),
            _ => throw new TarSplitRecordException(lineNumber, $"unknown entry type {type}"),
        };
    }

    private static TarSplitEntry File(ReadOnlyMemory<byte> name, long size, ReadOnlyMemory<byte> payload, long position, long lineNumber)
    {
        if (size < 0)
        {
            throw new TarSplitRecordException(lineNumber, $"negative file size {size}");
        }

        if (size == 0)
        {
            // An empty file, directory, link or device: nothing to read, nothing to check.
            return TarSplitEntry.ForFile(name, 0, 0, position, lineNumber);
        }

        if (name.IsEmpty)
        {
            throw new TarSplitRecordException(lineNumber, "a file entry with content has no name");
        }

        if (payload.Length != ChecksumLength)
        {
            throw new TarSplitRecordException(lineNumber, $"the file's checksum is {payload.Length} bytes, not {ChecksumLength}");
        }

        return TarSplitEntry.ForFile(name, size, BinaryPrimitives.ReadUInt64BigEndian(payload.Span), position, lineNumber);
    }

    private static long ReadInteger(ref Utf8JsonReader reader, string field, long lineNumber)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return 0;
        }

        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value)
            ? value
            : throw new TarSplitRecordException(lineNumber, $"'{field}' is not a 64-bit integer");
    }

    private static ReadOnlyMemory<byte> ReadString(ref Utf8JsonReader reader, string field, long lineNumber)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.Null ? ReadOnlyMemory<byte>.Empty : StringValue(ref reader, field, lineNumber).ToArray();
    }

    private static ReadOnlyMemory<byte> ReadBase64(ref Utf8JsonReader reader, string field, long lineNumber)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var text = StringValue(ref reader, field, lineNumber);
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        var status = Base64.DecodeFromUtf8(text, bytes, out var consumed, out var written);
        return status == OperationStatus.Done && consumed == text.Length
            ? bytes.AsMemory(0, written)
            : throw new TarSplitRecordException(lineNumber, $"'{field}' is not valid base64");
    }

    // The string's bytes with JSON escapes resolved; the reader's own span when there were none.
    private static ReadOnlySpan<byte> StringValue(ref Utf8JsonReader reader, string field, long lineNumber)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new TarSplitRecordException(lineNumber, $"'{field}' is not a string");
        }

        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        var unescaped = new byte[reader.ValueSpan.Length];
        try
        {
            return unescaped.AsSpan(0, reader.CopyString(unescaped));
        }
        catch (InvalidOperationException e)
        {
            // An escape that makes no UTF-8 (a lone surrogate such as \ud800) parses, but has no bytes to give.
            throw new TarSplitRecordException(lineNumber, $"'{field}' is not a valid JSON string ({e.Message})", e);
        }
    }
}
