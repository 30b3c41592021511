namespace LayerExport.Core.Tar;

/// <summary>An entry that no tar header can describe faithfully.</summary>
public sealed class TarEncodingException(string message) : Exception(message);
