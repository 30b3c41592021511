using System.Net.Sockets;
using System.Runtime.Versioning;
using LayerExport.Core.Native;
using LayerExportApi.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Listening;

/// <summary>Gives the server its addresses just before it binds: the TCP ones, and the Unix domain socket when configured.</summary>
/// <remarks>
/// Addresses set in code (Kestrel's Listen calls) win over these, as Kestrel always lets them. A socket file left
/// behind by an earlier run is removed only when it is a socket that nobody answers on; anything else at the
/// path (a live server, a regular file, a directory, a symlink) stops start-up and is left alone.
/// </remarks>
internal sealed partial class ListenerSetup(
    IServer server,
    IConfiguration configuration,
    IOptions<ListeningOptions> options,
    ILogger<ListenerSetup> logger) : IHostedLifecycleService
{
    private readonly ListeningOptions _options = options.Value;
    private uint? _groupId;

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null || addresses.IsReadOnly)
        {
            return Task.CompletedTask;
        }

        if (addresses.Count == 0)
        {
            // A setting of separators alone (";") names no address, as an empty one does, and gets the default.
            var urls = (configuration[WebHostDefaults.ServerUrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var url in urls)
            {
                addresses.Add(url);
            }

            if (urls.Length == 0 && !configuration.GetSection("Kestrel:Endpoints").Exists())
            {
                if (!_options.UnixSocketOnly)
                {
                    addresses.Add(ListeningOptions.DefaultUrl);
                }

                WarnOfPortsNotListenedOn();
            }
        }

        if (_options.SocketPath is { } path)
        {
            // Kestrel binds configured endpoints alone and passes over every address given here, the socket's included,
            // with no more than a warning: a socket asked for and never made must stop start-up instead.
            if (configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
            {
                throw new StartupCheckException(
                    $"Listen:UnixSocketPath '{path}' cannot be listened on beside Kestrel:Endpoints, which Kestrel then binds alone; give the TCP addresses with --urls (HTTPS ones a certificate by Kestrel:Certificates:Default), or the socket as an endpoint of its own (Kestrel:Endpoints:<name>:Url = http://unix:{path}), which Listen:UnixSocketMode and Listen:UnixSocketGroup do not apply to.");
            }

            _groupId = ResolveGroup();
            ClearStaleSocket(path);
            addresses.Add($"http://unix:{path}");
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    [UnsupportedOSPlatform("windows")]
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        // Kestrel has bound the socket by now; the file gets its configured mode before anyone is told to use it.
        if (_options.SocketPath is { } path && SocketPath.Inspect(path) == SocketPathKind.Socket)
        {
            if (_groupId is { } groupId)
            {
                GiveToGroup(path, groupId);
            }

            File.SetUnixFileMode(path, _options.PermissionBits());
            Log.SocketReady(logger, path, _options.UnixSocketMode, string.IsNullOrWhiteSpace(_options.UnixSocketGroup) ? "(the server's)" : _options.UnixSocketGroup);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_options.SocketPath is { } path && SocketPath.Inspect(path) == SocketPathKind.Socket && !IsLive(path))
        {
            File.Delete(path);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Only root (CAP_CHOWN) or a member of the group may give the socket to it: a setting to mend, told as one.
    [UnsupportedOSPlatform("windows")]
    private void GiveToGroup(string path, uint groupId)
    {
        try
        {
            SocketPath.SetGroup(path, groupId);
        }
        catch (NativeIOException e)
        {
            throw new StartupCheckException(
                $"Listen:UnixSocketGroup '{_options.UnixSocketGroup}': the socket cannot be given to that group ({e.Message}); the server's user must be root or a member of it.");
        }
    }

    // A group that does not exist stops start-up before anything is bound.
    private uint? ResolveGroup()
    {
        if (string.IsNullOrWhiteSpace(_options.UnixSocketGroup))
        {
            return null;
        }

        return SocketPath.ResolveGroup(_options.UnixSocketGroup)
            ?? throw new StartupCheckException($"Listen:UnixSocketGroup '{_options.UnixSocketGroup}' is no group this system knows.");
    }

    private void ClearStaleSocket(string path)
    {
        switch (SocketPath.Inspect(path))
        {
            case SocketPathKind.Nothing when !Directory.Exists(Path.GetDirectoryName(path)):
                throw new StartupCheckException($"Listen:UnixSocketPath '{path}': its directory {Path.GetDirectoryName(path)} does not exist; create it first.");
            case SocketPathKind.Nothing:
                return;
            case SocketPathKind.Other:
                throw new StartupCheckException($"Listen:UnixSocketPath '{path}' exists and is not a socket; it is left alone.");
            case SocketPathKind.Socket when IsLive(path):
                throw new StartupCheckException($"Listen:UnixSocketPath '{path}': another process is listening on it.");
            case SocketPathKind.Socket:
                File.Delete(path);
                Log.StaleSocketRemoved(logger, path);
                return;
        }
    }

    // A socket file whose listener is gone refuses connections; one that accepts belongs to a running server.
    private static bool IsLive(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused)
        {
            return false;
        }
    }

    // ASP.NET Core takes ASPNETCORE_HTTP_PORTS on every interface, and its container images set it (8080): an exposure
    // of every layer, without tokens, that an operator must ask for by naming the addresses. Addresses given here make
    // the host pass the ports over in silence, so the log says so.
    private void WarnOfPortsNotListenedOn()
    {
        var http = configuration[WebHostDefaults.HttpPortsKey];
        var https = configuration[WebHostDefaults.HttpsPortsKey];
        if (!string.IsNullOrWhiteSpace(http) || !string.IsNullOrWhiteSpace(https))
        {
            Log.PortsNotListenedOn(logger, http ?? "", https ?? "");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "ASPNETCORE_HTTP_PORTS ('{HttpPorts}') and ASPNETCORE_HTTPS_PORTS ('{HttpsPorts}') are not listened on: they would open every interface. Name the addresses with --urls or ASPNETCORE_URLS (e.g. http://+:8080), with Authentication:TokenSha256Hashes set beyond loopback")]
        public static partial void PortsNotListenedOn(ILogger logger, string httpPorts, string httpsPorts);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Removed the stale socket file {Path} left by an earlier run")]
        public static partial void StaleSocketRemoved(ILogger logger, string path);

        [LoggerMessage(Level = LogLevel.Information, Message = "Listening on the Unix domain socket {Path}, mode {Mode}, group {Group}")]
        public static partial void SocketReady(ILogger logger, string path, string mode, string group);
    }
}
