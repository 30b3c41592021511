namespace LayerExport.Core.Tests.Support;

/// <summary>Assertions on the lines of a <c>tar -tv</c> listing.</summary>
internal static class ListingAssert
{
    /// <summary>Exactly one line starts with <paramref name="start"/>, contains <paramref name="middle"/>, ends with <paramref name="end"/>.</summary>
    public static void HasLine(IReadOnlyList<string> listing, string start, string middle, string end) =>
        Assert.Single(listing, line =>
            line.StartsWith(start, StringComparison.Ordinal)
            && line.Contains(middle, StringComparison.Ordinal)
            && line.EndsWith(end, StringComparison.Ordinal));
}
