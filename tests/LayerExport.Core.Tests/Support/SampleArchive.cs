namespace LayerExport.Core.Tests.Support;

/// <summary>The <see cref="SampleLayer"/> exported once, with what Python's tarfile and .NET's TarReader read from it.</summary>
public sealed class SampleArchive : IAsyncLifetime, IDisposable
{
    private readonly TestLayerStore _store = new();

    internal LayerTree Tree { get; private set; } = null!;

    internal string Path { get; private set; } = "";

    internal IReadOnlyList<PythonTarMember> PythonMembers { get; private set; } = [];

    internal IReadOnlyList<DotNetTarMember> DotNetMembers { get; private set; } = [];

    /// <summary>A fresh directory outside the store.</summary>
    internal string NewOutputDirectory() => _store.Outputs.Combine(Guid.NewGuid().ToString("N"));

    internal PythonTarMember Member(string name) => Assert.Single(PythonMembers, m => m.Name == name);

    public async Task InitializeAsync()
    {
        Tree = SampleLayer.Build(_store.AddLayer("sample"));
        Path = await _store.ExportToFileAsync("sample");
        PythonMembers = await PythonTarfile.ListAsync(Path);
        DotNetMembers = DotNetTar.List(await File.ReadAllBytesAsync(Path));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _store.Dispose();
}
