using Microsoft.Extensions.Configuration.Json;

namespace LayerExportApi.Hosting;

/// <summary>The <c>appsettings.json</c> shipped beside the server, read whatever the working directory.</summary>
internal static class ShippedSettingsExtensions
{
    /// <summary>Puts the shipped settings first, so every other source (a local appsettings.json, the environment, the command line) overrides them.</summary>
    /// <remarks>
    /// ASP.NET Core reads <c>appsettings.json</c> from the content root, the working directory: a server started as
    /// <c>dotnet path/to/LayerExportApi.dll</c> from elsewhere would run without its logging settings, and so
    /// without a single log line.
    /// </remarks>
    public static WebApplicationBuilder AddShippedSettings(this WebApplicationBuilder builder)
    {
        var shipped = new JsonConfigurationSource { Path = Path.Combine(AppContext.BaseDirectory, "appsettings.json"), Optional = true };
        shipped.ResolveFileProvider();
        builder.Configuration.Sources.Insert(0, shipped);
        return builder;
    }
}
