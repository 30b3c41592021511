using LayerExport.Core.Native;

namespace LayerExport.Core.Reader;

/// <summary>Refuses to walk into a directory fscrypt encrypts while its key is not loaded.</summary>
/// <remarks>
/// Without its key such a directory still lists, but under encoded names (and its symlinks point at encoded
/// targets): exported, a layer whose encrypted part holds no regular file would be a complete, well-formed tar of
/// wrong names, and one that holds files would fail mid-body where the first one is opened. Asked when the
/// directory is entered, by the survey as by the export, the kernel's answer makes it a failure before the body.
/// The file systems that encrypt say so in the status the walk reads anyway, so other directories cost nothing.
/// </remarks>
internal static class EncryptedDirectory
{
    /// <summary>Throws when <paramref name="directory"/> is encrypted and its key is known to be absent.</summary>
    /// <param name="directory">The opened directory about to be listed.</param>
    /// <param name="status">Its status.</param>
    /// <exception cref="IOException">Its key is absent or being removed.</exception>
    public static void RequireKey(FileDescriptor directory, in FileStatus status)
    {
        // A key the kernel cannot report (a v1 policy's) is left to the reads: a file's open refuses without it, but a
        // v1 directory that holds no file would still be read under encoded names.
        if (directory.IsEncryptedWithoutKey(status))
        {
            throw new IOException(NativeIOException.KeyNotLoaded);
        }
    }
}
