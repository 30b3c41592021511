using System.IO.Pipelines;

namespace LayerExport.Core.Tests.Support;

/// <summary>What a writer puts into a pipe, read on the other side as it comes; on failure, what got through by then.</summary>
internal static class PipeCollector
{
    public static async Task<(byte[] Bytes, T Result)> CollectAsync<T>(Func<PipeWriter, Task<T>> write)
    {
        var pipe = new Pipe();
        var reading = Task.Run(async () =>
        {
            using var output = new MemoryStream();
            await pipe.Reader.CopyToAsync(output);
            return output.ToArray();
        });
        try
        {
            var result = await write(pipe.Writer);
            await pipe.Writer.CompleteAsync();
            return (await reading, result);
        }
        catch (Exception e)
        {
            await pipe.Writer.CompleteAsync();
            throw new CollectedException(await reading, e);
        }
    }

    /// <summary>The write failed; <see cref="Collected"/> is what the reading side got.</summary>
    public sealed class CollectedException(byte[] collected, Exception inner) : Exception("the write failed", inner)
    {
        public byte[] Collected { get; } = collected;
    }
}
