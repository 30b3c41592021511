namespace LayerExport.Core.Tar;

/// <summary>The tar typeflag byte of an entry.</summary>
public enum TarEntryType : byte
{
    /// <summary>Regular file, also used for whiteouts.</summary>
    RegularFile = (byte)'0',

    /// <summary>Hard link to an earlier entry.</summary>
    HardLink = (byte)'1',

    /// <summary>Symbolic link.</summary>
    SymbolicLink = (byte)'2',

    /// <summary>Character device.</summary>
    CharacterDevice = (byte)'3',

    /// <summary>Block device.</summary>
    BlockDevice = (byte)'4',

    /// <summary>Directory.</summary>
    Directory = (byte)'5',

    /// <summary>Named pipe.</summary>
    Fifo = (byte)'6',

    /// <summary>PAX extended header for the next entry.</summary>
    PaxExtendedHeader = (byte)'x',
}
