using LayerExport.Core.Reader;

namespace LayerExport.Core.Tests.Reader;

/// <summary>A file is known by its device and inode together, and keeps the first name it was written under.</summary>
public sealed class HardLinkTrackerTests
{
    [Fact]
    public void AFileNotYetWrittenHasNoFirstPath()
    {
        var tracker = new HardLinkTracker();

        Assert.False(tracker.TryGetFirstPath(1, 7, out _));
    }

    [Fact]
    public void TheFirstNameRememberedStaysTheFirstPath()
    {
        var tracker = new HardLinkTracker();

        tracker.Remember(1, 7, "a/first"u8.ToArray());
        // A later name must not replace it: links point at the first name, which an extractor has already made.
        tracker.Remember(1, 7, "b/second"u8.ToArray());

        Assert.True(tracker.TryGetFirstPath(1, 7, out var firstPath));
        Assert.Equal("a/first"u8.ToArray(), firstPath);
    }

    [Fact]
    public void TheSameInodeOnAnotherDeviceIsAnotherFile()
    {
        var tracker = new HardLinkTracker();

        tracker.Remember(1, 7, "a/first"u8.ToArray());

        // Inode numbers are only unique within one file system.
        Assert.False(tracker.TryGetFirstPath(2, 7, out _));
        Assert.False(tracker.TryGetFirstPath(1, 8, out _));
    }
}
