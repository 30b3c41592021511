namespace LayerExportApi.Limits;

/// <summary>How many client connections the server accepts at once when <c>Limits:Connections</c> is not set.</summary>
/// <remarks>
/// Kestrel accepts connections without bound, and each holds a file descriptor: enough idle ones use up the process's
/// descriptors, and then not only is every export refused but the .NET runtime aborts the process when it cannot make
/// a thread. Half of what the limit leaves free at start goes to connections, the other half stays for exports (10-50
/// descriptors each), the digest cache and the runtime.
/// </remarks>
internal static class ConnectionLimit
{
    /// <summary>Half the descriptors <paramref name="descriptorLimit"/> leaves beyond the <paramref name="held"/> ones, at least one; null when either is unknown or the limit too large to matter.</summary>
    public static int? Default(ulong? descriptorLimit, int? held)
    {
        if (descriptorLimit is not { } limit || held is null || limit >= int.MaxValue)
        {
            return null;
        }

        return (int)Math.Max(1, ((long)limit - held.Value) / 2);
    }
}
