using System.Runtime.InteropServices;
using ZstdSharp.Unsafe;

namespace LayerExport.Core.Compression;

/// <summary>A compression context of ZstdSharp.Port, the managed port of zstd.</summary>
internal sealed unsafe class ManagedZstdEncoder : ZstdEncoder
{
    private readonly Context _context = new();

    public ManagedZstdEncoder(int level, int workers)
    {
        try
        {
            var context = (ZSTD_CCtx_s*)_context.DangerousGetHandle();
            Check(Methods.ZSTD_CCtx_setParameter(context, ZSTD_cParameter.ZSTD_c_compressionLevel, level));
            Check(Methods.ZSTD_CCtx_setParameter(context, ZSTD_cParameter.ZSTD_c_checksumFlag, 1));
            Check(Methods.ZSTD_CCtx_setParameter(context, ZSTD_cParameter.ZSTD_c_nbWorkers, workers));
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
                var inBuffer = new ZSTD_inBuffer_s { src = source, size = (nuint)input.Length };
                var outBuffer = new ZSTD_outBuffer_s { dst = destination, size = (nuint)output.Length };
                var left = Check(Methods.ZSTD_compressStream2(
                    (ZSTD_CCtx_s*)_context.DangerousGetHandle(),
                    &outBuffer,
                    &inBuffer,
                    end ? ZSTD_EndDirective.ZSTD_e_end : ZSTD_EndDirective.ZSTD_e_continue));
                consumed = (int)inBuffer.pos;
                done = left == 0;
                return (int)outBuffer.pos;
            }
        }
        finally
        {
            _context.DangerousRelease();
        }
    }

    public override void Dispose() => _context.Dispose();

    private static nuint Check(nuint code) =>
        Methods.ZSTD_isError(code) ? throw new InvalidOperationException($"zstd: {Methods.ZSTD_getErrorName(code)}") : code;

    private sealed class Context : SafeHandle
    {
        public Context()
            : base(0, ownsHandle: true)
        {
            SetHandle((nint)Methods.ZSTD_createCCtx());
            if (IsInvalid)
            {
                throw new InsufficientMemoryException("zstd could not allocate a compression context.");
            }
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            Methods.ZSTD_freeCCtx((ZSTD_CCtx_s*)handle);
            return true;
        }
    }
}
