using System.Text.RegularExpressions;

namespace LayerExportApi.Hosting;

/// <summary>Says in one line which setting holds a value of the wrong type, and what it takes instead.</summary>
/// <remarks>
/// The configuration binder fails on such a value before any validation runs, with an exception whose stack trace
/// tells an operator nothing; its message names the key, the value and the type, which is all that is needed.
/// </remarks>
internal static partial class ConfigurationValueError
{
    /// <summary>The setting, its value and what it takes; null when <paramref name="exception"/> is not the binder's conversion failure.</summary>
    public static string? Describe(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is InvalidOperationException && BinderFailure().Match(e.Message) is { Success: true } match)
            {
                var type = Type.GetType(match.Groups["type"].Value)
                    ?? AppDomain.CurrentDomain.GetAssemblies().Select(assembly => assembly.GetType(match.Groups["type"].Value)).FirstOrDefault(found => found is not null);
                return $"{match.Groups["key"].Value}: '{match.Groups["value"].Value}' is not {Expected(type, match.Groups["type"].Value)}.";
            }
        }

        return null;
    }

    private static string Expected(Type? type, string typeName) => type switch
    {
        { IsEnum: true } => $"one of {string.Join(", ", Enum.GetNames(type))}",
        _ when type == typeof(int) || type == typeof(long) || type == typeof(int?) || type == typeof(long?) => "a whole number",
        _ when type == typeof(double) || type == typeof(double?) => "a number",
        _ when type == typeof(bool) || type == typeof(bool?) => "true or false",
        _ when type == typeof(TimeSpan) || type == typeof(TimeSpan?) => "a time span such as 00:00:30",
        _ => $"a value of type {typeName}",
    };

    [GeneratedRegex("^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex BinderFailure();
}
