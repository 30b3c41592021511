using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.TarSplit;

/// <summary>Reads a tar-split record (gzip-compressed JSON lines) one entry at a time.</summary>
/// <remarks>
/// Only the current line is held in memory, so records of any number of entries are read in bounded memory; a
/// single line may not exceed <see cref="MaxLineLength"/>. Every line must end in a newline, as tar-split writes
/// them, which also catches a record cut short in the middle of a line. A gzip stream without its final block or
/// trailer is refused only when the process runs with <c>System.IO.Compression.UseStrictValidation</c>, as the
/// server does; a record cut between two lines is otherwise caught by <see cref="TarSplitAssembler.MeasureTarLength(TarSplitRecord, CancellationToken)"/>
/// (its tar lacks the end blocks) or, where the store recorded the tar's digest, by the export's check of it.
/// </remarks>
public sealed class TarSplitRecord : IDisposable
{
    /// <summary>Longest line accepted; tar-split's largest entries (headers with long PAX data, 1 MiB padding chunks) stay far below it.</summary>
    public const int MaxLineLength = 64 * 1024 * 1024;

    private const int InitialBufferLength = 64 * 1024;

    private readonly HashingReadStream _compressed;
    private readonly GZipStream _json;
    private LayerDigest? _expected;
    private byte[] _buffer = new byte[InitialBufferLength];
    private int _start;
    private int _scanned;
    private int _end;
    private bool _endOfRecord;

    /// <summary>Reads the record from its gzip-compressed bytes.</summary>
    /// <param name="compressed">The record as stored (<c>tar-split.json.gz</c>, <c>&lt;id&gt;.tar-split.gz</c>).</param>
    /// <param name="leaveOpen">True to leave <paramref name="compressed"/> open when this is disposed.</param>
    public TarSplitRecord(Stream compressed, bool leaveOpen)
    {
        _compressed = new HashingReadStream(compressed, leaveOpen);
        _json = new GZipStream(_compressed, CompressionMode.Decompress, leaveOpen: false);
    }

    /// <summary>Lines read so far (the last entry's line number once it is returned).</summary>
    public long LineNumber { get; private set; }

    /// <summary>Opens the record file <paramref name="fileName"/> in <paramref name="directory"/>, refusing a symlink or anything but a regular file.</summary>
    /// <exception cref="NativeIOException">The file is missing or a symlink (<see cref="NativeIOException.IsSymlinkRefused"/>).</exception>
    /// <exception cref="TarSplitRecordException">The name is not a regular file.</exception>
    internal static TarSplitRecord OpenAt(FileDescriptor directory, ReadOnlySpan<byte> fileName)
    {
        var file = directory.OpenFileAt(fileName);
        try
        {
            var status = file.Stat();
            if (status.Type != Libc.S_IFREG)
            {
                throw new TarSplitRecordException(0, "the record is not a regular file");
            }

            return new TarSplitRecord(new FileDescriptorStream(file, ownsFile: true), leaveOpen: false);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next entry; false at the end of the record.</summary>
    /// <exception cref="TarSplitRecordException">The record is not gzip, or a line is malformed or blank (the exception names it).</exception>
    public bool TryRead([NotNullWhen(true)] out TarSplitEntry? entry)
    {
        if (!TryReadLine(out var start, out var length))
        {
            entry = null;
            return false;
        }

        // tar-split writes one entry per line and never a blank one; skipping them would let a small record of
        // gigabytes of newlines keep a thread busy with no entry to check cancellation on.
        var line = _buffer.AsSpan(start, length);
        entry = line.Trim(" \t\r"u8).IsEmpty
            ? throw new TarSplitRecordException(LineNumber, "a blank line, which tar-split never writes")
            : TarSplitLineParser.Parse(line, LineNumber);
        return true;
    }

    /// <summary>The sha256 of the stored bytes the record's entries were read from; only once its last entry has been read.</summary>
    /// <remarks>
    /// The reassembled tar depends on the record as much as on the files, so a layer's fingerprint covers the
    /// record by its content: a metadata-only change (a chmod, a relabel, restored times) leaves the state as it was.
    /// The digest covers the gzip stream and whatever the decompressor read past it, the same bytes for the same
    /// file; anything after that changes no entry and is never read, however large.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Entries are left to read.</exception>
    public LayerDigest ReadDigest() =>
        _endOfRecord && _start == _end
            ? _compressed.CurrentDigest
            : throw new InvalidOperationException("the record's digest is known only once all of it has been read");

    /// <summary>The sha256 of the stored bytes read so far, however far their entries parsed: a record that fails alike on the same bytes is the same record.</summary>
    internal LayerDigest BytesReadDigest => _compressed.CurrentDigest;

    /// <summary>True once <see cref="ThrowIfChanged"/> found the record read not to be the one expected.</summary>
    public bool DiffersFromExpected { get; private set; }

    /// <summary>Makes <see cref="ThrowIfChanged"/> require the record to have <paramref name="digest"/>, the <see cref="ReadDigest"/> of the record surveyed.</summary>
    public void Expect(LayerDigest digest) => _expected = digest;

    /// <summary>Throws when the record read, to its end, is not the one <see cref="Expect"/> names: what was made from it is not of the surveyed state.</summary>
    /// <exception cref="LayerChangedException">The record file's bytes are not those surveyed.</exception>
    public void ThrowIfChanged()
    {
        if (_expected is { } expected && ReadDigest() != expected)
        {
            DiffersFromExpected = true;
            throw new LayerChangedException("the tar-split record is no longer the one surveyed: it was rewritten or replaced");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _json.Dispose();

    private bool TryReadLine(out int start, out int length)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                start = _start;
                length = _scanned + newline - _start;
                _start = _scanned = _scanned + newline + 1;
                LineNumber++;
                return true;
            }

            _scanned = _end;
            if (_endOfRecord)
            {
                start = length = 0;
                return _start == _end
                    ? false
                    : throw new TarSplitRecordException(LineNumber + 1, "the record ends inside this line: it is truncated");
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _scanned -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxLineLength)
            {
                throw new TarSplitRecordException(LineNumber + 1, $"the line is longer than {MaxLineLength} bytes");
            }

            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineLength));
        }

        int read;
        try
        {
            read = _json.Read(_buffer.AsSpan(_end));
        }
        catch (InvalidDataException e)
        {
            throw new TarSplitRecordException(LineNumber + 1, $"the record is not valid gzip ({e.Message})", e);
        }

        if (read == 0)
        {
            _endOfRecord = true;
        }

        _end += read;
    }
}
