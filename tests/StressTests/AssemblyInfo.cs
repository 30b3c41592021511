using System.Runtime.Versioning;

// One stress test at a time: each measures a server process (threads, descriptors, memory) and loads the
// machine's cores; a second test running beside it would disturb both the load and the figures.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The suite reads /proc, makes Linux system calls and changes Unix permissions: Linux only, like the server.
[assembly: SupportedOSPlatform("linux")]
