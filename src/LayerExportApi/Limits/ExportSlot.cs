using System.Threading.RateLimiting;

namespace LayerExportApi.Limits;

/// <summary>The export slot a request holds, given back once: as its body's last byte goes to the server or when the request ends, whichever comes first.</summary>
internal sealed class ExportSlot(RateLimitLease lease) : IDisposable
{
    private RateLimitLease? _lease = lease;

    /// <summary>Gives the slot back; later calls do nothing.</summary>
    public void Dispose() => Interlocked.Exchange(ref _lease, null)?.Dispose();
}
