using System.Collections.Concurrent;
using System.IO.Pipelines;
using LayerExport.Core.Blobs;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;

namespace LayerExport.Core.Export;

/// <summary>Digests and sizes of layer representations: from the cache, from completed streams, or computed once.</summary>
/// <remarks>
/// Concurrent requests for the same answer share one computation. It is not tied to the request that started
/// it, since others may wait on it too. When the last of them stops waiting, it goes on while no more than
/// <see cref="MaxAbandoned"/> computations run for nobody, so a client that timed out and asks again finds it
/// running or done; beyond that it stops (a whole export's CPU and memory for an answer nobody takes). None
/// starts once the service begins to stop, and all stop when it is disposed.
/// </remarks>
public sealed class LayerDescriptors(LayerExporter exporter, DigestCache cache, CompressionOptions options) : IDisposable
{
    private readonly Dictionary<string, Computation> _running = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _abandoned;
    private bool _stopping;
    private readonly ConcurrentDictionary<string, LayerSurvey> _lastSurveys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _unbuildable = new(StringComparer.Ordinal);

    // Layer states found not to rebuild their recorded diffID; a store full of them only costs their checks again.
    private const int MaxUnbuildable = 4096;

    /// <summary>Layers whose last survey is kept; beyond them all are forgotten, which only costs each its next walk.</summary>
    internal const int MaxLastSurveys = 8192;
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>The descriptor of a representation when it is already known for this layer state.</summary>
    /// <remarks>
    /// A plain tar reassembled from the store's record is known before it is made: its digest is the recorded diffID,
    /// unless this layer state was found not to rebuild it (<see cref="VerifyRecordedAsync"/>). Once an export has seen
    /// it have that digest, the descriptor kept then also carries the tar's check (<see cref="LayerDescriptor.TarCheck"/>).
    /// </remarks>
    public LayerDescriptor? TryGetKnown(string layerId, LayerSurvey survey, LayerCompression compression)
    {
        var key = Key(layerId, survey.Fingerprint, compression);

        // The key names the representation; an entry of another one (a damaged or hand-made file) is a miss too. A plain
        // tar is announced with the entry's size and held to the survey's: one that differs would fail every download.
        var kept = cache.TryGet(key, out var known) && known.MediaType == LayerMediaType.For(compression)
            && (known.GzipIndex is null || known.GzipIndex.BlockSize == options.Gzip.BlockSize)
            && (compression != LayerCompression.None || known.Size == survey.TarSize)
            ? known
            : null;
        if (compression == LayerCompression.None && survey.RecordedDiffId is { } recorded && !_unbuildable.ContainsKey(key))
        {
            return kept?.Digest == recorded ? kept : new LayerDescriptor(LayerMediaType.Tar, recorded, survey.TarSize, recorded);
        }

        return kept;
    }

    /// <summary>Whether the plain tar's own descriptor of this layer state (or the store's record) gives the diffID and tar length <paramref name="compressed"/> gives.</summary>
    /// <remarks>
    /// Two places that agree: a damaged entry cannot pass for the tar's digest where an export trusts it unhashed
    /// (<see cref="ExpectedTar.FixedByBody"/>). A plain descriptor <see cref="TryGetKnown"/> gives has the surveyed length.
    /// </remarks>
    public bool Corroborates(string layerId, LayerSurvey survey, LayerDescriptor compressed)
    {
        ArgumentNullException.ThrowIfNull(survey);
        ArgumentNullException.ThrowIfNull(compressed);
        return TryGetKnown(layerId, survey, LayerCompression.None) is { } tar && tar.Digest == compressed.DiffId;
    }

    /// <summary>The last survey seen for a layer, or null: what a plain download may announce without walking the layer again.</summary>
    /// <remarks>
    /// Only an announcement that the export then verifies: a tar of another length, or another digest when one
    /// was announced, fails the download before its last bytes and makes the layer be surveyed afresh. A reassembled
    /// tar's export walks nothing when it takes a survey (<see cref="PreparedExport.TryAssume"/>), so nothing would find
    /// the state gone while its exports succeed: its survey is given only while an export has seen that state have the
    /// recorded diffID and kept the tar's check, which a file changed since fails (a repaired layer's survey of its
    /// damaged state, found not to rebuild the diffID, would otherwise be taken, and announce no digest, for good).
    /// </remarks>
    public LayerSurvey? LastSurvey(string layerId) =>
        _lastSurveys.TryGetValue(layerId, out var survey) && (survey.RecordedDiffId is null || TryGetKnown(layerId, survey, LayerCompression.None)?.TarCheck is not null)
            ? survey
            : null;

    /// <summary>Remembers a survey just taken, or what a completed generated export found.</summary>
    /// <remarks>Layers come and go in a store: one kept for every layer ever exported would grow without end.</remarks>
    public void RememberSurvey(string layerId, LayerSurvey survey)
    {
        if (_lastSurveys.Count >= MaxLastSurveys && !_lastSurveys.ContainsKey(layerId))
        {
            _lastSurveys.Clear();
        }

        _lastSurveys[layerId] = survey;
    }

    /// <summary>Forgets a layer's last survey, after an export found the layer different from it.</summary>
    public void ForgetSurvey(string layerId) => _lastSurveys.TryRemove(layerId, out _);

    /// <summary>Forgets every representation's descriptor of a layer state, after an export announced under one found its tar different.</summary>
    /// <remarks>
    /// Usually the layer changed and the state is gone; but an entry damaged on disk, or a file written through a shared
    /// mapping without moving its ctime, leaves a state whose cached digest it does not make, and kept, that digest would
    /// fail every download of the state. Forgotten, the next download is announced without it and records the true one.
    /// </remarks>
    public void ForgetKnown(string layerId, string fingerprint)
    {
        foreach (var compression in Enum.GetValues<LayerCompression>())
        {
            cache.Forget(Key(layerId, fingerprint, compression));
        }
    }

    /// <summary>Drops the check kept with a compressed body's descriptor of a layer state, after a body kept under its digest failed it.</summary>
    /// <remarks>
    /// The body on disk or the check kept with its descriptor is wrong, and which cannot be told without the SHA-256 the
    /// check stands in for (decision 0021). The next download is held to the digest itself, which a damaged body's retry
    /// still has and a damaged check never had, and keeps the check it takes: one failed download either way, and the
    /// descriptor, which the kept body was found by, kept.
    /// </remarks>
    public void ForgetBodyCheck(string layerId, string fingerprint, LayerCompression compression)
    {
        var key = Key(layerId, fingerprint, compression);
        if (cache.TryGet(key, out var known) && known.BodyCheck is not null)
        {
            cache.Put(key, known with { BodyCheck = null });
        }
    }

    /// <summary>Keeps <paramref name="read"/>'s body check with the descriptor of a layer state that has none: taken from a kept body found to have the descriptor's digest.</summary>
    /// <remarks>An older server's entry has no check (decision 0021), and its kept body would be hashed with SHA-256 on every read.</remarks>
    public void KeepBodyCheck(string layerId, string fingerprint, LayerCompression compression, LayerDescriptor read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var key = Key(layerId, fingerprint, compression);
        if (read.BodyCheck is not null && cache.TryGet(key, out var known) && known.BodyCheck is null && known.Digest == read.Digest && known.Size == read.Size)
        {
            cache.Put(key, known with { BodyCheck = read.BodyCheck });
        }
    }

    /// <summary>How long a layer must have been unchanged when an export began for what it produced to be kept: <see cref="DefaultSettleTime"/> unless set.</summary>
    public TimeSpan SettleTime { get; init; } = DefaultSettleTime;

    /// <summary>The default <see cref="SettleTime"/>.</summary>
    /// <remarks>
    /// A file written twice within one tick of its file system's clock keeps its ctime, so a state read that young may
    /// hold other bytes under the same fingerprint a moment later. Linux stamps in jiffies (at most 10 ms), some file
    /// systems (ext4 with 128-byte inodes, NFS servers) in whole seconds; two seconds cover those with room.
    /// </remarks>
    public static readonly TimeSpan DefaultSettleTime = TimeSpan.FromSeconds(2);

    /// <summary>Remembers what a completed export produced, under the fingerprint of what it actually read, unless the layer had changed within <see cref="SettleTime"/> of its start.</summary>
    /// <returns>The descriptor of what was produced, kept or not.</returns>
    public LayerDescriptor Record(string layerId, LayerCompression compression, ExportSummary summary)
    {
        var descriptor = new LayerDescriptor(LayerMediaType.For(compression), summary.Digest, summary.Size, summary.DiffId)
        {
            GzipIndex = summary.GzipIndex,
            TarCheck = compression == LayerCompression.None ? summary.TarCheck : null,
            BodyCheck = compression == LayerCompression.None ? null : summary.BodyCheck,
        };
        if (!Settled(summary))
        {
            // Announced as the representation's validator and trusted for ranges, a digest must be of every body this fingerprint may stand for.
            return descriptor;
        }

        cache.Put(Key(layerId, summary.Fingerprint, compression), descriptor);
        if (compression != LayerCompression.None)
        {
            var tar = new LayerDescriptor(LayerMediaType.Tar, summary.DiffId, summary.Bytes, summary.DiffId) { TarCheck = summary.TarCheck };
            cache.Put(Key(layerId, summary.Fingerprint, LayerCompression.None), tar);
        }

        return descriptor;
    }

    /// <summary>Where a computed gzip or zstd body is kept for the download it was asked ahead of; null keeps none.</summary>
    /// <remarks>
    /// A descriptor is computed for a download to come: a sidecar's push after its descriptor, a resumed or conditional
    /// download of a state no export completed. The body made for it was thrown away; kept, that download reads it back
    /// instead of compressing the layer again. Only a state whose descriptor is kept keeps its body: nothing could look
    /// up another.
    /// </remarks>
    public BlobCache? Blobs { get; init; }

    /// <summary>The descriptor for this layer state, computing it (once, however many ask) when it is not known.</summary>
    /// <remarks>A reassembled plain tar's is the recorded diffID, given only once the tar of this state was seen to have it: a descriptor must describe a body that can be served.</remarks>
    public async Task<LayerDescriptor> GetAsync(string layerId, LayerSurvey survey, LayerCompression compression, CancellationToken cancellationToken)
    {
        if (compression == LayerCompression.None)
        {
            await VerifyRecordedAsync(layerId, survey, cancellationToken).ConfigureAwait(false);
        }

        if (TryGetKnown(layerId, survey, compression) is { } known)
        {
            return known;
        }

        return await ComputeSharedAsync(Key(layerId, survey.Fingerprint, compression), layerId, survey.Fingerprint, compression, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes sure the plain tar of this layer state was seen once to have the diffID its store recorded, exporting it once (shared) when it was not.</summary>
    /// <remarks>
    /// A reassembled tar is announced under its recorded diffID before a byte of it is made; a whole download checks
    /// that diffID before its last bytes, a byte range cannot. A record that no longer rebuilds the recorded tar
    /// (edited before the server saw it) would otherwise have its ranges served under a digest that is not theirs.
    /// </remarks>
    /// <exception cref="LayerChangedException">The layer changed while it was checked.</exception>
    public async Task VerifyRecordedAsync(string layerId, LayerSurvey survey, CancellationToken cancellationToken)
    {
        var key = Key(layerId, survey.Fingerprint, LayerCompression.None);
        if (survey.RecordedDiffId is not { } recorded || SawRecordedDiffId(key, recorded))
        {
            return;
        }

        try
        {
            await ComputeSharedAsync(key, layerId, survey.Fingerprint, LayerCompression.None, cancellationToken).ConfigureAwait(false);
        }
        catch (LayerExportException e) when (e.InnerException is LayerStoreCorruptException)
        {
            // Announced no more for this state (to a request that wants only its digest): no body of it can have the recorded diffID.
            if (_unbuildable.Count >= MaxUnbuildable)
            {
                _unbuildable.Clear();
            }

            _unbuildable[key] = true;
            throw;
        }

        if (!SawRecordedDiffId(key, recorded))
        {
            throw new LayerChangedException("the layer changed while its tar was checked against the recorded diffID");
        }
    }

    // An export keeps the plain descriptor only once its tar had the recorded diffID; an entry of another digest (a
    // damaged file) is no such proof, as TryGetKnown passes it over too.
    private bool SawRecordedDiffId(string key, LayerDigest recorded) => cache.TryGet(key, out var kept) && kept.Digest == recorded;

    private async Task<LayerDescriptor> ComputeSharedAsync(string key, string layerId, string fingerprint, LayerCompression compression, CancellationToken cancellationToken)
    {
        Computation? computation;
        lock (_lock)
        {
            if (_shutdown.IsCancellationRequested)
            {
                throw new ServiceStoppingException();
            }

            if (_running.TryGetValue(key, out computation) && computation.Abandoned)
            {
                computation.Abandoned = false;
                _abandoned--;
            }
            else if (computation is null)
            {
                if (_stopping)
                {
                    throw new ServiceStoppingException();
                }

                computation = new Computation(CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token));
                _running.Add(key, computation);
                var started = computation;
                computation.Work = Task.Run(() => ComputeAsync(key, layerId, fingerprint, compression, started));
            }

            computation.Waiters++;
        }

        try
        {
            return await computation.Work!.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _shutdown.IsCancellationRequested)
        {
            throw new ServiceStoppingException();
        }
        finally
        {
            Leave(key, computation);
        }
    }

    /// <summary>Computations that may go on with nobody waiting for them: by default one per core, at most four.</summary>
    /// <remarks>
    /// Each holds a whole export's memory outside <c>Limits:ConcurrentExports</c>, whose slots are the requests' (a zstd
    /// one about 100 MB, docs/decisions/0018-compression-threads-per-export.md): one per core of a large machine would
    /// hold gigabytes for answers nobody may come back for.
    /// </remarks>
    internal int MaxAbandoned { get; init; } = AbandonedOn(Environment.ProcessorCount);

    /// <summary>The default <see cref="MaxAbandoned"/> on a machine of <paramref name="cores"/> cores.</summary>
    internal static int AbandonedOn(int cores) => Math.Min(cores, 4);

    /// <summary>Computations running now, for tests.</summary>
    internal int RunningCount
    {
        get
        {
            lock (_lock)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>Starts no more computations; those running go on for their waiters until <see cref="Dispose"/>.</summary>
    /// <remarks>Called when the service begins to stop: a running one may still finish within the shutdown grace.</remarks>
    public void StopStarting()
    {
        lock (_lock)
        {
            _stopping = true;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_shutdown.IsCancellationRequested)
            {
                return;
            }

            _shutdown.Cancel();
        }

        _shutdown.Dispose();
    }

    private async Task<LayerDescriptor> ComputeAsync(string key, string layerId, string fingerprint, LayerCompression compression, Computation computation)
    {
        try
        {
            using var export = exporter.Prepare(layerId, []);
            using var copy = compression == LayerCompression.None ? null : Blobs?.StartCopy(BlobCache.StateOf(layerId, fingerprint, compression));
            var sink = PipeWriter.Create(Stream.Null);
            var summary = await export.WriteAsync(compression, sink, expected: null, copy, computation.Cancellation.Token).ConfigureAwait(false);
            var descriptor = Record(layerId, compression, summary);
            if (Settled(summary))
            {
                copy?.Keep(summary.Digest, summary.Size);
            }

            return descriptor;
        }
        finally
        {
            lock (_lock)
            {
                Forget(key, computation);
                computation.Done = true;
                if (computation.Abandoned)
                {
                    computation.Abandoned = false;
                    _abandoned--;
                }
            }

            computation.Cancellation.Dispose();
        }
    }

    // The last waiter to leave a computation that is still running lets it go on within the allowance, else cancels it.
    private void Leave(string key, Computation computation)
    {
        lock (_lock)
        {
            if (--computation.Waiters > 0 || computation.Done)
            {
                return;
            }

            if (_abandoned < MaxAbandoned)
            {
                computation.Abandoned = true;
                _abandoned++;
                return;
            }

            Forget(key, computation);
            computation.Cancellation.Cancel();
        }
    }

    // Called under the lock; a later computation of the same key may have taken the place already.
    private void Forget(string key, Computation computation)
    {
        if (_running.TryGetValue(key, out var current) && current == computation)
        {
            _running.Remove(key);
        }
    }

    private bool Settled(ExportSummary summary) => summary.UnchangedFor >= SettleTime;

    private string Key(string layerId, string fingerprint, LayerCompression compression) =>
        DigestCache.Key(layerId, fingerprint, Representation(compression));

    // Codec settings that change the bytes are part of the key; the thread count is not, as it never does. So is the
    // runtime for gzip: its zlib-ng comes with the shared runtime (decision 0003), which a host may roll forward under
    // a cache that outlives it; zstd's codec ships with the server, its bytes pinned by its tests.
    private string Representation(LayerCompression compression) => compression switch
    {
        LayerCompression.None => "tar",
        LayerCompression.Gzip => $"gzip/level={options.Gzip.Level}/block={options.Gzip.BlockSize}/runtime={Environment.Version}",
        LayerCompression.Zstd => $"zstd/level={options.Zstd.Level}",
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };

    private sealed class Computation(CancellationTokenSource cancellation)
    {
        public CancellationTokenSource Cancellation { get; } = cancellation;

        public Task<LayerDescriptor>? Work { get; set; }

        public int Waiters { get; set; }

        public bool Done { get; set; }

        public bool Abandoned { get; set; }
    }
}
