namespace LayerExport.TestSupport;

/// <summary>Settings the test servers start with unless a test gives its own.</summary>
internal static class TestSettings
{
    /// <summary><c>DigestCache:SettleTime</c> for servers over layers made a moment before they are asked for.</summary>
    /// <remarks>
    /// Under the default (two seconds) whether a test's digests are kept would hang on how long the server took to
    /// start; the tests of the settle time give it themselves.
    /// </remarks>
    public const string SettledAtOnce = "00:00:00";
}
