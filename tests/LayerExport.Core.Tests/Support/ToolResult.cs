using System.Text;

namespace LayerExport.Core.Tests.Support;

/// <summary>How a tool run ended and what it printed.</summary>
internal sealed record ToolResult(string CommandLine, int ExitCode, byte[] Stdout, string Stderr)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    /// <summary>Standard output split into lines, without the final empty one.</summary>
    public IReadOnlyList<string> StdoutLines => StdoutText.Split('\n') is [.. var lines, ""] ? lines : StdoutText.Split('\n');
}
