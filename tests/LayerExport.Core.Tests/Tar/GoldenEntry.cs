using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Windows;

namespace LayerExport.Core.Tests.Tar;

/// <summary>One entry both writers get: the header, its data, and how Go should build its header.</summary>
/// <param name="Header">The header our encoder writes; Go gets the same fields.</param>
public sealed record GoldenEntry(TarEntryHeader Header)
{
    /// <summary>Entry data; its length is the header's size unless <see cref="HeaderOnly"/>.</summary>
    public byte[] Data { get; init; } = [];

    /// <summary>Go builds a bare <c>{Name, Typeflag}</c> header with no format, as hcsshim does for whiteouts.</summary>
    public bool Whiteout { get; init; }

    /// <summary>Only the header is written and compared (a size too large to write); the archive stops there.</summary>
    public bool HeaderOnly { get; init; }

    /// <summary>Go builds the header as hcsshim builds a Windows layer entry, from this and the header's name, size, mode and link name.</summary>
    public WindowsEntrySpec? Windows { get; init; }
}
