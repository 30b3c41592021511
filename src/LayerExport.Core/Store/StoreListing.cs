using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Store;

/// <summary>Lists a directory every layer of a store is found in (a store root, Docker's layer database).</summary>
internal static class StoreListing
{
    /// <summary>The directory's entries; a directory that cannot be listed makes the whole store unavailable.</summary>
    /// <param name="directory">The opened directory.</param>
    /// <param name="name">The directory as messages name it, relative to the configured root.</param>
    public static List<DirectoryEntry> Read(FileDescriptor directory, string name)
    {
        try
        {
            // Without its key, an encrypted directory lists encoded names, which pass for layer IDs.
            EncryptedDirectory.RequireKey(directory, directory.Stat());
            return directory.ReadDirectory();
        }
        catch (NativeIOException e) when (!e.IsTransient)
        {
            // An open descriptor outlives its directory: once deleted, a listing fails with ENOENT until a restart.
            throw new LayerStoreUnavailableException(
                e.IsNotFound
                    ? $"The layer store cannot be listed: {name} was deleted; restart the server once the store is back."
                    : $"The layer store cannot be listed: {name} ({Libc.Describe(e.Errno)}).",
                e);
        }
        catch (IOException e) when (e is not NativeIOException)
        {
            throw new LayerStoreUnavailableException($"The layer store cannot be listed: {name}: {e.Message}.", e);
        }
    }

    /// <summary>The refusal for a directory every layer is looked up in whose names cannot be told: no layer of the store can be found.</summary>
    /// <param name="name">The directory as messages name it, relative to the configured root.</param>
    /// <param name="e">The failed lookup.</param>
    public static LayerStoreUnavailableException Unsearchable(string name, NativeIOException e) =>
        new($"The layer store cannot be read: {name}: {e.Reason}.", e);

    /// <summary>Whether the directory's link count can tell its deletion: it must be above 0 while it lives.</summary>
    /// <remarks>Every kernel file system counts at least 1 for a live directory; a FUSE daemon may report anything.</remarks>
    public static bool CountsLinks(FileDescriptor directory) => directory.Stat().NLink > 0;

    /// <summary>Throws when the directory was deleted: a name missing from it then says nothing about the layer.</summary>
    /// <param name="directory">The opened directory.</param>
    /// <param name="name">The directory as messages name it, relative to the configured root.</param>
    /// <param name="countsLinks">What <see cref="CountsLinks"/> said when the directory was opened; without it nothing is told.</param>
    public static void ThrowIfDeleted(FileDescriptor directory, string name, bool countsLinks)
    {
        if (countsLinks && directory.Stat().NLink == 0)
        {
            throw new LayerStoreUnavailableException($"The layer store cannot be read: {name} was deleted; restart the server once the store is back.");
        }
    }
}
