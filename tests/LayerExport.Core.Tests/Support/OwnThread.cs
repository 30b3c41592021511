using System.Runtime.ExceptionServices;

namespace LayerExport.Core.Tests.Support;

/// <summary>Runs a body on a thread made for it, for state that binds one thread for good (a seccomp filter, an effective user).</summary>
internal static class OwnThread
{
    /// <summary>Runs <paramref name="body"/> on a new thread and returns its result; the body's exception is rethrown here.</summary>
    public static T Run<T>(Func<T> body)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }
}
