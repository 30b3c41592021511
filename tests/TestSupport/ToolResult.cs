using Xunit;

namespace LayerExport.TestSupport;

/// <summary>What a tool run produced: its exit code, the bytes it wrote to stdout and the text it wrote to stderr.</summary>
public sealed record ToolResult(int ExitCode, byte[] Stdout, string Stderr)
{
    /// <summary>Fails the test unless the tool exited 0.</summary>
    public ToolResult EnsureSuccess(string what)
    {
        Assert.True(ExitCode == 0, $"{what}: exit code {ExitCode}, stderr: {Stderr}");
        return this;
    }
}
