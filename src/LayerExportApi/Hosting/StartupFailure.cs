using LayerExport.Core.Store;
using Microsoft.Extensions.Options;
using Serilog;

namespace LayerExportApi.Hosting;

/// <summary>Says in one fatal log line why the server stopped before or while it started serving.</summary>
internal static class StartupFailure
{
    /// <summary>Logs <paramref name="exception"/> as the reason the server cannot start; a stack trace only for a failure no check foresaw.</summary>
    public static void Report(Exception exception)
    {
        switch (exception)
        {
            case OptionsValidationException e:
                Log.Fatal("LayerExport cannot start: {Reason}", string.Join(" ", e.Failures));
                break;
            case LayerStoreException e:
                Log.Fatal("LayerExport cannot start: LayerStore:Root is not a store of the configured LayerStore:Layout. {Reason}", e.Message);
                break;
            case var e when ConfigurationValueError.Describe(e) is { } reason:
                Log.Fatal("LayerExport cannot start: {Reason}", reason);
                break;
            case StartupCheckException e:
                Log.Fatal("LayerExport cannot start: {Reason}", e.Message);
                break;
            default:
                Log.Fatal(exception, "LayerExport could not start: {Reason}", exception.Message);
                break;
        }
    }
}
