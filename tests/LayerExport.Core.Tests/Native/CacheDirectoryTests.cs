using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>A cache's directory is used only on the file system it was on at start: an unmounted disk's cache is not made again beneath its mount point.</summary>
public sealed class CacheDirectoryTests
{
    [Fact]
    public async Task ADirectoryFoundOnAnotherFileSystemThanAtStartIsNotUsed()
    {
        var fileSystem = await ScratchFileSystem.MountAsync("tmpfs");
        var scratch = Path.GetDirectoryName(fileSystem.MountPoint)!;
        CacheDirectory cache;
        try
        {
            cache = new CacheDirectory(Path.Combine(fileSystem.MountPoint, "cache"));
            using (cache.Open())
            {
            }
        }
        finally
        {
            await fileSystem.DisposeAsync();
        }

        try
        {
            var refused = Assert.Throws<UnsafeDirectoryException>(() => cache.Open());
            Assert.Contains("is no longer on the file system it was on at start", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            // Opening made the path again where the file system was mounted, on the one beneath.
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    [Fact]
    public void ADirectoryRemovedAndMadeAgainOnTheSameFileSystemIsUsed()
    {
        using var temp = new TempDirectory();
        Posix.ChangeMode(temp.Path, Convert.ToInt32("755", 8));
        var cache = new CacheDirectory(temp.Combine("cache"));
        Directory.Delete(temp.Combine("cache"));

        using var opened = cache.Open();

        Assert.True(Directory.Exists(temp.Combine("cache")));
    }
}
