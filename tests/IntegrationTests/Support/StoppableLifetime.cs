using Microsoft.Extensions.Hosting;

namespace IntegrationTests.Support;

/// <summary>A host lifetime whose stop the test begins: only <see cref="ApplicationStopping"/> ever fires.</summary>
internal sealed class StoppableLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public Task StopAsync() => _stopping.CancelAsync();

    public void StopApplication() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();
}
