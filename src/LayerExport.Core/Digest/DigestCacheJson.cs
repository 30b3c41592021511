using System.Text.Json.Serialization;

namespace LayerExport.Core.Digest;

/// <summary>Source-generated JSON for cache files.</summary>
[JsonSerializable(typeof(StoredDescriptor))]
internal sealed partial class DigestCacheJson : JsonSerializerContext;
