namespace StressTests.Race;

/// <summary>The control: a reader that opens the layer's files by path, following symlinks as ordinary file APIs do.</summary>
/// <remarks>When it reads secret bytes during a run, the attack is live: a server reading by path would have leaked them too.</remarks>
internal sealed class PathFollowingReader : IDisposable
{
    private readonly string[] _paths;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _reads;
    private long _secretReads;

    public PathFollowingReader(params string[] paths)
    {
        _paths = paths;
        _thread = new Thread(Run) { IsBackground = true, Name = "path-following reader" };
    }

    /// <summary>Files read whole.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Reads that returned secret bytes.</summary>
    public long SecretReads => Interlocked.Read(ref _secretReads);

    public void Start() => _thread.Start();

    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        while (!_stop)
        {
            foreach (var path in _paths)
            {
                try
                {
                    var content = File.ReadAllBytes(path);
                    Interlocked.Increment(ref _reads);
                    if (SecretBytes.Contains(content))
                    {
                        Interlocked.Increment(ref _secretReads);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The name was missing or a directory at that moment.
                }
            }
        }
    }
}
