using LayerExport.Core.Compression;
using LayerExportApi.Hosting;
using Microsoft.Extensions.Configuration;

namespace IntegrationTests.Hosting;

/// <summary>The one line that names a setting the configuration binder cannot convert, and what it takes instead.</summary>
public sealed class ConfigurationValueErrorTests
{
    [Theory]
    [InlineData(nameof(Settings.Count), "many", "Section:Count: 'many' is not a whole number.")]
    [InlineData(nameof(Settings.Size), "big", "Section:Size: 'big' is not a whole number.")]
    [InlineData(nameof(Settings.Limit), "lots", "Section:Limit: 'lots' is not a whole number.")]
    [InlineData(nameof(Settings.Budget), "1e3", "Section:Budget: '1e3' is not a whole number.")]
    [InlineData(nameof(Settings.Rate), "fast", "Section:Rate: 'fast' is not a number.")]
    [InlineData(nameof(Settings.Share), "half", "Section:Share: 'half' is not a number.")]
    [InlineData(nameof(Settings.Enabled), "yes", "Section:Enabled: 'yes' is not true or false.")]
    [InlineData(nameof(Settings.Strict), "1", "Section:Strict: '1' is not true or false.")]
    [InlineData(nameof(Settings.Delay), "soon", "Section:Delay: 'soon' is not a time span such as 00:00:30.")]
    [InlineData(nameof(Settings.Timeout), "never", "Section:Timeout: 'never' is not a time span such as 00:00:30.")]
    [InlineData(nameof(Settings.Library), "Foo", "Section:Library: 'Foo' is not one of Auto, Native, Managed.")]
    [InlineData(nameof(Settings.Id), "x", "Section:Id: 'x' is not a value of type System.Guid.")]
    public void AValueTheBinderCannotConvertIsNamedWithWhatItsSettingTakes(string setting, string value, string line)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Bind(setting, value));

        Assert.Equal(line, ConfigurationValueError.Describe(error));
    }

    // Start-up wraps the binder's failure (options resolved inside the host): the line is found however deep it is.
    [Fact]
    public void TheBindersFailureIsFoundInsideTheExceptionsThatWrapIt()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Bind(nameof(Settings.Count), "many"));

        Assert.Equal(
            "Section:Count: 'many' is not a whole number.",
            ConfigurationValueError.Describe(new AggregateException(new IOException("outer", error))));
    }

    // A type that no loaded assembly defines is still named, as the binder spelled it.
    [Fact]
    public void ATypeNoLoadedAssemblyDefinesIsNamedAsTheBinderSpelledIt() =>
        Assert.Equal(
            "Section:Plugin: 'x' is not a value of type Some.Plugin.Settings.",
            ConfigurationValueError.Describe(new InvalidOperationException("Failed to convert configuration value 'x' at 'Section:Plugin' to type 'Some.Plugin.Settings'.")));

    [Fact]
    public void AnyOtherFailureIsNotDescribed()
    {
        Assert.Null(ConfigurationValueError.Describe(new InvalidOperationException("Addresses cannot be modified after the server has started.")));
        Assert.Null(ConfigurationValueError.Describe(new FormatException("Failed to convert configuration value 'x' at 'A' to type 'System.Int32'.")));
    }

    private static void Bind(string setting, string value) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"Section:{setting}"] = value })
            .Build()
            .GetSection("Section")
            .Get<Settings>();

    private sealed class Settings
    {
        public int Count { get; set; }

        public long Size { get; set; }

        public int? Limit { get; set; }

        public long? Budget { get; set; }

        public double Rate { get; set; }

        public double? Share { get; set; }

        public bool Enabled { get; set; }

        public bool? Strict { get; set; }

        public TimeSpan Delay { get; set; }

        public TimeSpan? Timeout { get; set; }

        public ZstdLibrary Library { get; set; }

        public Guid Id { get; set; }
    }
}
