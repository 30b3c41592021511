namespace ZstdComparison;

/// <summary>The system's libzstd through P/Invoke, same parameters as the server: level 3, checksum, <paramref name="threads"/> workers.</summary>
internal sealed class NativeZstd(int threads) : IZstdVariant
{
    public string Name => $"libzstd {LibZstd.Version}, {threads} worker(s)";

    public unsafe void Compress(byte[] input, int chunk, OutputBuffer output)
    {
        var context = LibZstd.ZSTD_createCCtx();
        try
        {
            LibZstd.Check(LibZstd.ZSTD_CCtx_setParameter(context, LibZstd.CompressionLevel, 3));
            LibZstd.Check(LibZstd.ZSTD_CCtx_setParameter(context, LibZstd.ChecksumFlag, 1));
            LibZstd.Check(LibZstd.ZSTD_CCtx_setParameter(context, LibZstd.NbWorkers, threads));
            fixed (byte* source = input)
            {
                for (var offset = 0; offset < input.Length; offset += chunk)
                {
                    var length = Math.Min(chunk, input.Length - offset);
                    var last = offset + length == input.Length;
                    var inBuffer = new LibZstd.InBuffer { Source = (nint)(source + offset), Size = (nuint)length };
                    nuint remaining;
                    do
                    {
                        remaining = Step(context, ref inBuffer, output, last ? LibZstd.EndFrame : LibZstd.Continue);
                    }
                    while (inBuffer.Position < inBuffer.Size || (last && remaining != 0));
                }
            }
        }
        finally
        {
            LibZstd.ZSTD_freeCCtx(context);
        }
    }

    private static unsafe nuint Step(nint context, ref LibZstd.InBuffer inBuffer, OutputBuffer output, int directive)
    {
        var free = output.Free;
        fixed (byte* destination = free)
        {
            var outBuffer = new LibZstd.OutBuffer { Destination = (nint)destination, Size = (nuint)free.Length };
            var remaining = LibZstd.Check(LibZstd.ZSTD_compressStream2(context, ref outBuffer, ref inBuffer, directive));
            output.Advance((int)outBuffer.Position);
            return remaining;
        }
    }
}
