using System.ComponentModel;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// Runs code on a thread of its own and lets a test act at the moment that thread makes one kind of system call,
/// before the kernel carries it out: a race put in one known place instead of being hoped for.
/// </summary>
/// <remarks>
/// A seccomp filter on that thread alone hands each such call to a listener (SECCOMP_RET_USER_NOTIF), which runs the
/// test's action and then lets the call go on unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE, Linux 5.5). The caller is a
/// thread of this process, so a name it passes is read straight from its pointer.
/// </remarks>
internal static unsafe partial class SyscallRace
{
    private const string Library = "libc";
    private const ulong NotificationReceive = 0xC050_2100;
    private const ulong NotificationSend = 0xC018_2101;
    private const int NotificationSize = 80;
    private const int ArgumentsOffset = 32;
    private const uint ContinueFlag = 1;
    private const short PollIn = 0x1;
    private const int EventCloseOnExec = 0x80000;
    private const uint OpenCloseOnExec = 0x80000;
    private const uint SymlinkNoFollow = 0x100;
    private const int Eintr = 4;
    private const int Enoent = 2;

    /// <summary>
    /// Runs <paramref name="body"/> on a new thread; every openat it makes with O_CLOEXEC (as every open of
    /// <c>FileDescriptor</c> does) first waits for <paramref name="beforeOpen"/> to run with the name it opens. The
    /// body's exception is rethrown here.
    /// </summary>
    /// <remarks>
    /// The runtime's own opens go on unseen: a garbage collection started on that thread reads /proc/meminfo while
    /// every other managed thread, the listener's too, waits for it to end, so handing that open to the listener
    /// would hang both.
    /// </remarks>
    public static T AtOpen<T>(Func<T> body, Action<string> beforeOpen) =>
        Run(
            body,
            Posix.NotifyOnWhenThirdArgumentHas(Posix.OpenatSyscallNumber, OpenCloseOnExec),
            arguments => beforeOpen(Marshal.PtrToStringUTF8((nint)arguments[1]) ?? string.Empty));

    /// <summary>
    /// Runs <paramref name="body"/> on a new thread; every statx of a name it makes without following a symlink (as
    /// <c>FileDescriptor.StatAt</c> does) first waits for <paramref name="beforeStatus"/> to run with that name. The
    /// status of an opened descriptor (an empty name) goes on unseen. The body's exception is rethrown here.
    /// </summary>
    public static T AtStatusOfAName<T>(Func<T> body, Action<string> beforeStatus) =>
        Run(
            body,
            Posix.NotifyOnWhenThirdArgumentHas(Posix.StatxSyscallNumber, SymlinkNoFollow),
            arguments => beforeStatus(Marshal.PtrToStringUTF8((nint)arguments[1]) ?? string.Empty));

    /// <summary>
    /// Runs <paramref name="body"/> on a new thread; every pread64 it makes first waits for <paramref name="beforeRead"/>
    /// to run. The body's exception is rethrown here.
    /// </summary>
    public static T AtRead<T>(Func<T> body, Action beforeRead) =>
        Run(body, Posix.NotifyOn(Posix.Pread64SyscallNumber), _ => beforeRead());

    private static T Run<T>(Func<T> body, Posix.SocketFilter[] filter, Action<ulong[]> before)
    {
        using var finished = new EventDescriptor();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                listening.SetResult(Posix.InstallSeccompFilter(filter, Posix.SeccompNewListener));
                result = body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
                listening.TrySetResult(-1);
            }
            finally
            {
                finished.Signal();
            }
        });
        thread.Start();

        // -1 when the filter could not be installed; the thread is joined all the same before `finished` is closed.
        var listener = listening.Task.GetAwaiter().GetResult();
        try
        {
            if (listener >= 0)
            {
                Serve(listener, finished.Descriptor, before);
            }
        }
        finally
        {
            // Closing the listener fails any call still waiting, so the thread always ends.
            if (listener >= 0)
            {
                _ = Close(listener);
            }

            thread.Join();
        }

        failure?.Throw();
        return result;
    }

    private static void Serve(int listener, int finished, Action<ulong[]> before)
    {
        var descriptors = stackalloc PollDescriptor[2];
        while (true)
        {
            descriptors[0] = new PollDescriptor { Descriptor = listener, Events = PollIn };
            descriptors[1] = new PollDescriptor { Descriptor = finished, Events = PollIn };
            if (Poll(descriptors, 2, -1) < 0)
            {
                Check(Marshal.GetLastPInvokeError() == Eintr, "poll");
                continue;
            }

            if ((descriptors[0].ReturnedEvents & PollIn) != 0)
            {
                Answer(listener, before);
            }
            else if (descriptors[1].ReturnedEvents != 0)
            {
                return;
            }
        }
    }

    private static void Answer(int listener, Action<ulong[]> before)
    {
        var notification = stackalloc byte[NotificationSize];
        new Span<byte>(notification, NotificationSize).Clear();
        if (Ioctl(listener, NotificationReceive, notification) != 0)
        {
            // A caller interrupted by a signal withdraws its call and makes it again.
            var errno = Marshal.GetLastPInvokeError();
            Check(errno is Eintr or Enoent, "SECCOMP_IOCTL_NOTIF_RECV");
            return;
        }

        var response = stackalloc ulong[3] { *(ulong*)notification, 0, (ulong)ContinueFlag << 32 };
        try
        {
            before(new ReadOnlySpan<ulong>(notification + ArgumentsOffset, 6).ToArray());
        }
        finally
        {
            if (Ioctl(listener, NotificationSend, response) != 0)
            {
                Check(Marshal.GetLastPInvokeError() == Enoent, "SECCOMP_IOCTL_NOTIF_SEND");
            }
        }
    }

    private static void Check(bool expected, string what)
    {
        if (!expected)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{what}: {new Win32Exception(errno).Message} (errno {errno})");
        }
    }

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int descriptor, ulong request, void* argument);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollDescriptor* descriptors, ulong count, int timeout);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int descriptor, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollDescriptor
    {
        public int Descriptor;
        public short Events;
        public short ReturnedEvents;
    }

    // Tells the listener the body has ended, so it stops waiting without a timeout.
    private sealed class EventDescriptor : IDisposable
    {
        public EventDescriptor()
        {
            Descriptor = EventFd(0, EventCloseOnExec);
            Check(Descriptor >= 0, "eventfd");
        }

        public int Descriptor { get; }

        public void Signal()
        {
            var one = 1UL;
            Check(Write(Descriptor, &one, sizeof(ulong)) == sizeof(ulong), "write to eventfd");
        }

        public void Dispose() => _ = Close(Descriptor);
    }
}
