using System.ComponentModel.DataAnnotations;

namespace LayerExportApi.Layers;

/// <summary>The configuration section <c>LayerStore:Access</c>: how hard to try before the first byte.</summary>
internal sealed class StoreAccessOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "LayerStore:Access";

    /// <summary>Extra attempts after a transient error (EIO, EAGAIN, EBUSY, ESTALE, descriptor exhaustion).</summary>
    [Range(0, 10, ErrorMessage = "LayerStore:Access:RetryAttempts must be 0 to 10.")]
    public int RetryAttempts { get; set; } = 3;

    /// <summary>Delay before the first retry; it doubles after each.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "LayerStore:Access:RetryDelay must be 00:00:00 to 00:00:10.")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Time limit for validating, opening and surveying a layer (the whole pre-stream phase).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "LayerStore:Access:PrepareTimeout must be 00:00:01 to 01:00:00.")]
    public TimeSpan PrepareTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long <c>/readyz</c> waits for the store's listing before it answers 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:05:00", ErrorMessage = "LayerStore:Access:ReadinessTimeout must be 00:00:00.1 to 00:05:00.")]
    public TimeSpan ReadinessTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether a whole GET may take the tar's length and known digest from the layer's last survey instead of
    /// walking it again; the export checks both at the end, so a layer changed since fails that download once.
    /// </summary>
    public bool ReuseLastSurvey { get; set; } = true;
}
