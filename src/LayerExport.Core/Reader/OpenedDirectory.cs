using LayerExport.Core.Native;

namespace LayerExport.Core.Reader;

/// <summary>A directory opened to be walked into, with the names of its xattrs as they were when its header was read.</summary>
/// <param name="Descriptor">The opened directory; the walk that enters it owns it.</param>
/// <param name="XattrNames">Every xattr name the directory had, exported or not (the overlay's opaque markers among them).</param>
internal readonly record struct OpenedDirectory(FileDescriptor Descriptor, List<byte[]> XattrNames);
