using System.Diagnostics;

namespace LayerExport.Core.Tests.Support;

/// <summary>A process blocked opening a FIFO for writing, as a writer waiting for its reader is: whoever opens the FIFO to read wakes it.</summary>
/// <remarks>
/// The kernel wakes the writer inside the reader's open, so once a call that might have opened the FIFO returns, the
/// writer either still sleeps where a FIFO's open waits for its partner (its <c>/proc</c> wait channel says so) or it
/// does not: no waiting decides it.
/// </remarks>
internal sealed class WaitingFifoWriter : IDisposable
{
    // Where the kernel puts a FIFO's open to sleep until the other end is opened: no other sleep of the shell is there.
    private const string WaitChannel = "wait_for_partner";

    private readonly Process _process;

    private WaitingFifoWriter(Process process) => _process = process;

    /// <summary>Makes the FIFO at <paramref name="path"/> and starts its writer, returning once the writer waits in its open.</summary>
    public static WaitingFifoWriter Start(string path)
    {
        Posix.MakeFifo(path);
        var process = Process.Start(new ProcessStartInfo("sh", ["-c", "exec 3>\"$0\"", path]) { UseShellExecute = false })!;
        var writer = new WaitingFifoWriter(process);
        if (!SpinWait.SpinUntil(() => writer.IsWaiting, TimeSpan.FromSeconds(30)))
        {
            writer.Dispose();
            throw new InvalidOperationException($"the writer of {path} never waited in its open");
        }

        return writer;
    }

    /// <summary>Whether the writer still waits in its open: no one opened the FIFO to read since it started.</summary>
    public bool IsWaiting
    {
        get
        {
            try
            {
                return File.ReadAllText($"/proc/{_process.Id}/wchan") == WaitChannel;
            }
            catch (IOException)
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
