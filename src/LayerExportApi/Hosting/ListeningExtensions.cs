using LayerExportApi.Listening;

namespace LayerExportApi.Hosting;

/// <summary>Where the server listens: loopback TCP by default, optionally a Unix domain socket.</summary>
internal static class ListeningExtensions
{
    /// <summary>Binds <c>Listen</c>, validates it at start, registers the address setup and reports a failed bind in one line.</summary>
    public static WebApplicationBuilder AddListeners(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ListeningOptions>()
            .BindConfiguration(ListeningOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(static o => o.SocketPath is null || Path.IsPathFullyQualified(o.SocketPath), "Listen:UnixSocketPath must be an absolute path.")
            .Validate(static o => o.SocketPathFitsAnAddress(), $"Listen:UnixSocketPath must be at most {ListeningOptions.MaxSocketPathBytes} bytes in UTF-8, without a NUL, to fit a socket address.")
            .Validate(static o => !o.UnixSocketOnly || o.SocketPath is not null, "Listen:UnixSocketOnly needs Listen:UnixSocketPath.")
            .ValidateOnStart();
        builder.Services.AddHostedService<ListenerSetup>();
        ListeningServer.Wrap(builder.Services);
        return builder;
    }
}
