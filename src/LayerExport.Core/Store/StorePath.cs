using System.Text;
using LayerExport.Core.Native;

namespace LayerExport.Core.Store;

/// <summary>Opens a directory below another, one component at a time, never following a symlink.</summary>
internal static class StorePath
{
    /// <summary>Opens <paramref name="path"/> ('/'-separated) below <paramref name="start"/>; store errors name <paramref name="id"/>.</summary>
    /// <remarks>
    /// Callers build the path from names they checked, but <c>openat</c> would follow a <c>..</c> out of
    /// <paramref name="start"/> as readily as a symlink, so this refuses one itself.
    /// </remarks>
    public static FileDescriptor Open(FileDescriptor start, string path, LayerId? id = null)
    {
        var who = id is { } layer ? $"Layer '{layer}': " : "";
        if (path.Split('/').Any(static c => c is "" or "." or ".."))
        {
            throw new LayerRefusedException($"{who}{path} is not a path below the store; refused.");
        }

        var current = start;
        var owned = false;
        try
        {
            foreach (var component in path.Split('/'))
            {
                var next = current.OpenDirectoryAt(Encoding.UTF8.GetBytes(component));
                if (owned)
                {
                    current.Dispose();
                }

                current = next;
                owned = true;
            }

            return current;
        }
        catch (NativeIOException e)
        {
            if (owned)
            {
                current.Dispose();
            }

            throw e.IsSymlinkRefused
                ? new LayerRefusedException($"{who}{path} is a symbolic link or not a directory; refused.")
                : new LayerStoreCorruptException($"{who}{path} cannot be opened ({e.Reason}).", e);
        }
    }
}
