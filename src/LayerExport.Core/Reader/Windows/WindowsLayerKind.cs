namespace LayerExport.Core.Reader.Windows;

/// <summary>Which of hcsshim's two readers a Windows layer is exported with.</summary>
internal enum WindowsLayerKind
{
    /// <summary>A layer without parents: <c>Files</c> and, when present, <c>UtilityVM/Files</c>, every entry read in one pass.</summary>
    Base,

    /// <summary>A layer with parents: the legacy transport directory ExportLayer writes, tombstones included.</summary>
    Transport,
}
