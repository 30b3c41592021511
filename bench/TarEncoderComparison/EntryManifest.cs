using System.Text.Json;

namespace TarEncoderComparison;

/// <summary>Writes the entry set as JSON (bytes as base64) for the Go reference writer (tests/golden/gotar) and the Python checker.</summary>
internal static class EntryManifest
{
    public static void Write(IReadOnlyList<BenchEntry> entries, Stream output)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartArray();
        foreach (var e in entries)
        {
            json.WriteStartObject();
            json.WriteBase64String("name", e.Name);
            json.WriteString("type", ((char)e.Type).ToString());
            json.WriteNumber("mode", e.Mode);
            json.WriteNumber("uid", e.Uid);
            json.WriteNumber("gid", e.Gid);
            json.WriteNumber("mtime", e.ModificationTime);
            json.WriteBase64String("linkname", e.LinkName);
            json.WriteNumber("size", e.Data.Length);
            json.WriteBase64String("data", e.Data);
            json.WriteStartArray("xattrs");
            foreach (var (name, value) in e.Xattrs)
            {
                json.WriteStartObject();
                json.WriteBase64String("name", name);
                json.WriteBase64String("value", value);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
