using LayerExport.Core.Native;

namespace LayerExport.Core.Tests.Native;

/// <summary>A libzstd call that fails is an exception naming zstd's error, never a result taken as a count.</summary>
public sealed class LibZstdTests
{
    private const int UnknownParameter = 12345;

    // A libzstd built without workers refuses nbWorkers as this one refuses a parameter it does not know: the start-up
    // check must see the refusal to fall back to the managed port, and its log line gives zstd's reason.
    [Fact]
    public void AParameterTheLibraryRefusesIsAnErrorNamingZstdsReason()
    {
        Assert.True(LibZstd.Unavailable is null, LibZstd.Unavailable);
        var context = LibZstd.CreateContext();
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => LibZstd.SetParameter(context, UnknownParameter, 1));

            Assert.Equal("libzstd: Unsupported parameter", error.Message);
        }
        finally
        {
            LibZstd.FreeContext(context);
        }
    }
}
