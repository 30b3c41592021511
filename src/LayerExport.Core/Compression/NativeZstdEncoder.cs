using System.Runtime.InteropServices;
using LayerExport.Core.Native;

namespace LayerExport.Core.Compression;

/// <summary>A compression context of the native libzstd shipped with the application.</summary>
internal sealed unsafe class NativeZstdEncoder : ZstdEncoder
{
    private readonly Context _context = new();

    public NativeZstdEncoder(int level, int workers)
    {
        try
        {
            var context = _context.DangerousGetHandle();
            LibZstd.SetParameter(context, LibZstd.CompressionLevel, level);
            LibZstd.SetParameter(context, LibZstd.ChecksumFlag, 1);
            LibZstd.SetParameter(context, LibZstd.NbWorkers, workers);
        }
        catch
        {
            _context.Dispose();
            throw;
        }
    }

    public override int Compress(ReadOnlySpan<byte> input, Span<byte> output, bool end, out int consumed, out bool done)
    {
        var added = false;
        _context.DangerousAddRef(ref added);
        try
        {
            fixed (byte* source = input)
            fixed (byte* destination = output)
            {
                var inBuffer = new LibZstd.Buffer { Pointer = source, Size = (nuint)input.Length };
                var outBuffer = new LibZstd.Buffer { Pointer = destination, Size = (nuint)output.Length };
                var left = LibZstd.CompressStream2(_context.DangerousGetHandle(), &outBuffer, &inBuffer, end ? LibZstd.End : LibZstd.Continue);
                consumed = (int)inBuffer.Position;
                done = left == 0;
                return (int)outBuffer.Position;
            }
        }
        finally
        {
            _context.DangerousRelease();
        }
    }

    public override void Dispose() => _context.Dispose();

    private sealed class Context : SafeHandle
    {
        public Context()
            : base(0, ownsHandle: true)
        {
            SetHandle(LibZstd.CreateContext());
            if (IsInvalid)
            {
                throw new InsufficientMemoryException("libzstd could not allocate a compression context.");
            }
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            LibZstd.FreeContext(handle);
            return true;
        }
    }
}
