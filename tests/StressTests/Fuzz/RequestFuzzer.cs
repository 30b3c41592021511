using System.Text;

namespace StressTests.Fuzz;

/// <summary>What the fuzzer knows about the server's store, so that some of its requests get past validation.</summary>
/// <param name="Chain">Layer IDs from the top layer down to the base (each one's parents follow it).</param>
/// <param name="ETags">Real strong ETags (quoted digests) of the layers' representations.</param>
/// <param name="TarSize">Length of the largest plain tar, to aim ranges near its end.</param>
internal sealed record FuzzTarget(IReadOnlyList<string> Chain, IReadOnlyList<string> ETags, long TarSize);

/// <summary>Builds request number <c>i</c> of a run from <c>(seed, i)</c> alone, so any request can be rebuilt and the run can be spread over threads.</summary>
/// <remarks>
/// Requests aim at every endpoint (list, describe, tar GET and HEAD, descriptor, OpenAPI, Swagger) and at paths
/// that are none of them; IDs, parent lists, query strings, Range, If-Range, If-None-Match and Accept are drawn
/// from valid values, near-valid values and hostile ones (control characters, broken percent-encodings, overlong
/// values, numbers that overflow).
/// </remarks>
internal sealed class RequestFuzzer(int seed, FuzzTarget target)
{
    private static readonly string[] Methods = ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get", "G\x01T", "CONNECT", "PROPFIND", new string('G', 300)];

    private static readonly string[] OddIdPieces =
    [
        "/", "\\", ".", "..", "%2F", "%2f", "%00", "%0A", "%0D%0A", "%25", "%", "%zz", "%C0%AF", "%E2%80%AE", "%FF", "%2e%2e",
        Utf8("é"), Utf8("\u202e"), Utf8("😀"), "\x80", "\xFF", "%20", "+", "~", "*", ":", "@", "#", ";", "%3B", "$", "'", "\"", "<", ">",
        "{", "}", "|", "^", "`", "[", "]", "\t", " ", "\x01", "\x7F", "%7F", "%u0041", "%%", "%%32%65",
    ];

    private static readonly string[] Compressions =
    [
        "none", "gzip", "zstd", "GZIP", "Zstd", "", "br", "deflate", "gzip,zstd", "gzip ", " none", "zst", "tar", "none%00", "%00", "g%7Aip", "%gzip", Utf8("gzíp"), "x-gzip", "identity", "*",
    ];

    private static readonly string[] Ranges =
    [
        "bytes=0-0", "bytes=0-", "bytes=-1", "bytes=-0", "bytes=5-2", "bytes=0-1,2-3", "bytes=0-511,1024-", "bytes=99999999999999999999-",
        "bytes=-99999999999999999999", "bytes=9223372036854775807-", "bytes=9223372036854775806-9223372036854775807", "bytes=-9223372036854775808",
        "bytes=-9223372036854775807", "bytes=0-9223372036854775807", "bytes= 0-1", "bytes=0-1 ", "items=0-1", "bytes", "bytes=", "bytes=,", "bytes=--1", "bytes=1--2",
        "bytes=0-1,", "bytes=-", "bytes=a-b", "BYTES=0-1", "bytes=0x10-0x20", "bytes=1e3-2e3", "bytes=+1-2", "bytes=0-0,-1", "bytes=-1,-1,-1", "bytes==0-1",
        "bytes=0-1;q=1", "none", "*", "", ",", "bytes=\x01-2", "bytes=00000000000000000000000000001-2",
    ];

    private static readonly string[] Dates = ["Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 32 Foo 2000 99:99:99 GMT"];

    private static readonly string[] MediaTypes =
    [
        "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.v1.tar+bzip2", "application/vnd.docker.image.rootfs.diff.tar.gzip", "*/*", "application/*", "*/json", "text/html",
        "application/json", "application/problem+json", "application/", "/", "application", "*", "application/vnd.oci.image.layer.v1.tar; charset=utf-8",
        "APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR+GZIP", "application/vnd.oci.image.layer.v1.tar+gzip;level=9", "a/b/c", "\"quoted\"/type",
    ];

    private static readonly string[] Qualities = ["0", "0.5", "1", "1.0", "0.001", "1.0001", "2", "-1", "abc", "1e400", "NaN", "", "0.", ".5", "0,5", "00000000000000000001"];

    private static readonly string[] OddPaths =
    [
        "/", "", "*", "//layers", "/layers//{id}/tar", "/layers/{id}//tar", "/layers/{id}/tar/", "/layers/./{id}/tar", "/layers/{id}/../{id}/tar",
        "/LAYERS/{id}/TAR", "/layers/{id}%2Ftar", "%2Flayers%2F{id}%2Ftar", "http://127.0.0.1/layers/{id}/tar", "/layers/{id}/tar#fragment",
        "/layers/{id};x=y/tar", "\\layers\\{id}\\tar", "/layers/{id}/tar/extra", "/layers/{id}/descriptor/", "/layers/{id}/", "/layers/",
        "/layers/{id}/tar%3Fcompression=gzip", "/../../etc/passwd", "/layers/..%2F..%2Fetc%2Fpasswd/tar", "/layers/{id}/%2e%2e/%2e%2e/tar",
        "/swagger/../layers/{id}/tar", "/openapi/v2.json", "/openapi/v1.json/..", "/healthz", "/layers/{id}/tar\x7F", "/layers/%ZZ/tar",
    ];

    /// <summary>Request number <paramref name="index"/> of this seed's run.</summary>
    public FuzzRequest Create(int index)
    {
        // Request i depends on (seed, i) only: the same pair always gives the same request, on any thread and in
        // any process (HashCode would not do: it is salted per process).
        var random = new Random(Mix(seed, index));
        return new Builder(random, target).Request(index);
    }

    // SplitMix64's finaliser over the pair: neighbouring indices get unrelated generator seeds.
    private static int Mix(int seed, int index)
    {
        var z = unchecked(((ulong)(uint)seed << 32) | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)(z ^ (z >> 31));
    }

    private static string Utf8(string text) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));

    private sealed class Builder(Random random, FuzzTarget target)
    {
        private readonly List<string> _mutations = [];
        private readonly List<(string Name, string Value)> _headers = [];

        public FuzzRequest Request(int index)
        {
            var endpoint = random.Next(100);
            var id = Id();
            string method = "GET", path;
            var tarEndpoint = false;
            if (endpoint < 8)
            {
                path = "/layers";
            }
            else if (endpoint < 22)
            {
                path = $"/layers/{id}";
            }
            else if (endpoint < 72)
            {
                path = $"/layers/{id}/tar";
                tarEndpoint = true;
                if (random.Next(4) == 0)
                {
                    method = "HEAD";
                }
            }
            else if (endpoint < 86)
            {
                path = $"/layers/{id}/descriptor";
            }
            else if (endpoint < 90)
            {
                path = Pick("/openapi/v1.json", "/swagger", "/swagger/index.html", "/swagger/v1/swagger.json");
            }
            else
            {
                path = Pick(OddPaths).Replace("{id}", id, StringComparison.Ordinal);
                _mutations.Add("odd-path");
                tarEndpoint = path.Contains("tar", StringComparison.OrdinalIgnoreCase);
            }

            if (random.Next(12) == 0)
            {
                method = Pick(Methods);
                _mutations.Add("method");
            }

            var query = Query();
            var requestTarget = path + query;
            if (random.Next(40) == 0)
            {
                requestTarget += new string('a', random.Next(8_000, 20_000));
                _mutations.Add("huge-target");
            }

            Headers(tarEndpoint || random.Next(5) == 0);
            return new FuzzRequest(index, method, requestTarget, _headers, _mutations);
        }

        private string Id()
        {
            var kind = random.Next(100);
            if (kind < 35)
            {
                return Pick(target.Chain);
            }

            _mutations.Add("id");
            if (kind < 45)
            {
                return ValidChars(random.Next(1, 129));
            }

            if (kind < 52)
            {
                return ValidChars(random.Next(129, random.Next(3) == 0 ? 6000 : 300));
            }

            if (kind < 57)
            {
                return "";
            }

            if (kind < 62)
            {
                // Percent-encoded letters of a real ID: the same ID once decoded.
                return string.Concat(Pick(target.Chain).Select(c => random.Next(2) == 0 ? $"%{(int)c:X2}" : c.ToString()));
            }

            // A real or random ID with odd pieces put in.
            var id = random.Next(2) == 0 ? Pick(target.Chain) : ValidChars(random.Next(1, 20));
            for (var pieces = random.Next(1, 4); pieces > 0; pieces--)
            {
                var at = random.Next(id.Length + 1);
                id = id[..at] + Pick(OddIdPieces) + id[at..];
            }

            return id;
        }

        private string Query()
        {
            var parameters = new List<string>();
            if (random.Next(3) == 0)
            {
                _mutations.Add("parents");
                parameters.AddRange(Parents().Select(static p => "parent=" + p));
            }

            if (random.Next(3) == 0)
            {
                _mutations.Add("compression");
                parameters.Add("compression=" + Pick(Compressions));
                if (random.Next(6) == 0)
                {
                    parameters.Add("compression=" + Pick(Compressions));
                }
            }

            if (random.Next(6) == 0)
            {
                _mutations.Add("query");
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    parameters.Add(Pick("&", "=", "a=%", "%", "parent", "parent=", "=gzip", "compression", "x=" + Pick(OddIdPieces), "%00=%00", "a[]=1", "a=1=2", "??", Pick(OddIdPieces)));
                }
            }

            parameters = parameters.OrderBy(_ => random.Next()).ToList();
            return parameters.Count == 0 && random.Next(20) != 0 ? "" : "?" + string.Join('&', parameters);
        }

        private IEnumerable<string> Parents()
        {
            var kind = random.Next(10);
            if (kind < 3)
            {
                // A prefix of a real chain: the parents of the first ID, possibly right.
                var start = random.Next(target.Chain.Count);
                return target.Chain.Skip(start + 1).Take(random.Next(target.Chain.Count));
            }

            if (kind < 5)
            {
                return Enumerable.Range(0, random.Next(1, 5)).Select(_ => Pick(target.Chain));
            }

            if (kind < 6)
            {
                _mutations.Add("many-parents");
                return Enumerable.Range(0, random.Next(100, 1500)).Select(_ => Pick(target.Chain));
            }

            if (kind < 8)
            {
                return Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick(OddIdPieces) + ValidChars(random.Next(0, 5)));
            }

            return Enumerable.Range(0, random.Next(1, 4)).Select(_ => ValidChars(random.Next(0, 200)));
        }

        private void Headers(bool rangeHeaders)
        {
            if (rangeHeaders && random.Next(2) == 0)
            {
                _mutations.Add("range");
                Add("Range", random.Next(3) == 0 ? NearEndRange() : Pick(Ranges));
                if (random.Next(15) == 0)
                {
                    Add("Range", Pick(Ranges));
                }
            }

            if (rangeHeaders && random.Next(4) == 0)
            {
                _mutations.Add("if-range");
                Add("If-Range", EntityTag());
            }

            if (random.Next(4) == 0)
            {
                _mutations.Add("if-none-match");
                Add("If-None-Match", random.Next(5) == 0 ? string.Join(", ", Enumerable.Range(0, random.Next(2, 50)).Select(_ => EntityTag())) : EntityTag());
            }

            if (random.Next(3) == 0)
            {
                _mutations.Add("accept");
                Add("Accept", Accept());
            }

            if (random.Next(25) == 0)
            {
                _mutations.Add("control-chars");
                var name = Pick("Range", "Accept", "If-None-Match", "If-Range", "X-Fuzz");
                Add(name, Pick("bytes=0-1", "*/*", "\"x\"") + (char)random.Next(0, 32) + Pick("", "\x7F", "\x00", "\x1B[31m"));
            }

            if (random.Next(30) == 0)
            {
                _mutations.Add("huge-header");
                Add(Pick("Accept", "If-None-Match", "Range", "X-Fuzz"), Pick("*/*", "\"a\"", "bytes=0-1") + new string(Pick(',', 'a', ' ', '-'), random.Next(4_000, 70_000)));
            }

            if (random.Next(30) == 0)
            {
                _mutations.Add("non-ascii-header");
                Add(Pick("Accept", "If-None-Match", "Range"), Utf8(Pick("application/vnd.oci.image.layer.v1.tar+gzíp", "bytes=0-１", "\"sha256:é\"")));
            }
        }

        private string NearEndRange()
        {
            var size = target.TarSize;
            long Near() => Math.Max(0, size + random.Next(-1100, 1100));
            return Pick(0, 1, 2) switch
            {
                0 => $"bytes={Near()}-",
                1 => $"bytes={Near()}-{Near()}",
                _ => $"bytes=-{Near()}",
            };
        }

        private string EntityTag()
        {
            var etag = Pick(target.ETags);
            return random.Next(12) switch
            {
                0 or 1 or 2 => etag,
                3 => "W/" + etag,
                4 => "*",
                5 => etag.Trim('"'),
                6 => "\"" + etag,
                7 => etag[..^5] + "0000\"",
                8 => Pick(Dates),
                9 => "",
                10 => "\"\"",
                _ => "W/\"" + ValidChars(random.Next(0, 80)) + "\"",
            };
        }

        private string Accept()
        {
            var ranges = Enumerable.Range(0, random.Next(5) == 0 ? random.Next(10, 200) : random.Next(1, 4)).Select(_ =>
            {
                var range = Pick(MediaTypes);
                if (random.Next(3) == 0)
                {
                    range += ";q=" + Pick(Qualities);
                }

                return range;
            });
            return string.Join(Pick(", ", ",", " , ", ",,", ";"), ranges);
        }

        private string ValidChars(int length)
        {
            const string First = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            const string Rest = First + "_.-";
            var text = new StringBuilder(length);
            for (var i = 0; i < length; i++)
            {
                text.Append(i == 0 ? First[random.Next(First.Length)] : Rest[random.Next(Rest.Length)]);
            }

            return text.ToString();
        }

        private void Add(string name, string value) => _headers.Add((name, value));

        private T Pick<T>(params IReadOnlyList<T> choices) => choices[random.Next(choices.Count)];
    }
}
