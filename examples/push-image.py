#!/usr/bin/env python3
"""Publishes a layer and its parents as an OCI image in a registry, streaming each layer from LayerExport.

    examples/push-image.py --server http://127.0.0.1:5000 --registry http://127.0.0.1:5001 \\
        --repository demo/app --tag latest app

What a registry push sidecar does, with the Python standard library only:

1. `GET /layers/{id}` gives the layer's ID and recorded parent chain; the image's layers are the chain, base
   first. A containers-storage name given instead of an ID is sent as one percent-encoded path segment.
2. For each layer, `GET /layers/{id}/descriptor?compression=...` gives the blob's digest and size and the
   layer's diffID before a byte is sent. A blob the registry already has is skipped (`HEAD`).
3. Otherwise the body of `GET /layers/{id}/tar?compression=...` is streamed into the registry's upload
   (`PUT ...?digest=`), with the size as `Content-Length`; nothing is buffered. The registry hashes what it
   receives and refuses a blob that does not match the digest, so a failed or altered export cannot land.
   With `BlobCache:Directory` set on the server, the body step 2 was computed from is kept, and this download
   reads it back: the layer is compressed once for both.
4. An image config lists the diffIDs; it and an OCI image manifest are pushed last. The manifest's digest is
   printed.

The parent chain is passed back with each request (`parent=`), so a store whose chain changed between the
steps fails the push (409) instead of publishing a mix. Exit code: 0 on success, 2 for a usage error, 1 with a
message otherwise.
"""
import argparse
import hashlib
import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
STREAM_BLOCK = 1024 * 1024


def fail(message):
    sys.exit(f"push-image: {message}")


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        fail(f"GET {url}: {e.code} {e.read().decode(errors='replace')}")
    except urllib.error.URLError as e:
        fail(f"GET {url}: {e.reason}")


def registry_has(registry, repository, digest):
    url = f"{registry}/v2/{repository}/blobs/{digest}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=60):
            return True
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return False
        fail(f"HEAD {url}: {e.code}")
    except urllib.error.URLError as e:
        fail(f"HEAD {url}: {e.reason}")


def start_upload(registry, repository):
    request = urllib.request.Request(f"{registry}/v2/{repository}/blobs/uploads/", data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            location = response.headers["Location"]
    except urllib.error.HTTPError as e:
        fail(f"starting an upload to {repository}: {e.code} {e.read().decode(errors='replace')}")
    except urllib.error.URLError as e:
        fail(f"starting an upload to {repository} at {registry}: {e.reason}")
    return urllib.parse.urljoin(registry + "/", location)


def put(url, body, size, content_type):
    """PUTs `size` bytes from the file-like `body` (or bytes) to `url`; returns (status, headers, text)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300, blocksize=STREAM_BLOCK)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.request("PUT", target, body=body, headers={"Content-Type": content_type, "Content-Length": str(size)})
    response = connection.getresponse()
    text = response.read().decode(errors="replace")
    connection.close()
    return response.status, response.headers, text


class ExactBody:
    """The export's body as the upload reads it: a transfer that ends before `size` bytes fails the upload.

    A failed export ends its transfer short, and http.client's response then reads as b"" (the end) where more
    was asked for: the registry would wait for the rest of the announced length until its socket timed out.
    """

    def __init__(self, source, size):
        self.source = source
        self.remaining = size

    def read(self, amount):
        data = self.source.read(min(amount, self.remaining)) if self.remaining else b""
        if self.remaining and not data:
            raise http.client.IncompleteRead(b"", self.remaining)
        self.remaining -= len(data)
        return data


def push_blob(registry, repository, digest, size, body, what):
    upload = start_upload(registry, repository)
    separator = "&" if urllib.parse.urlsplit(upload).query else "?"
    status, headers, text = put(f"{upload}{separator}digest={urllib.parse.quote(digest)}", body, size,
                                "application/octet-stream")
    if status != 201:
        fail(f"{what}: the registry answered {status} to the upload: {text}")
    if headers.get("Docker-Content-Digest") not in (None, digest):
        fail(f"{what}: the registry stored {headers.get('Docker-Content-Digest')}, not {digest}")


def push_layer(args, layer, parents):
    query = urllib.parse.urlencode([("compression", args.compression)] + [("parent", p) for p in parents])
    descriptor = get_json(f"{args.server}/layers/{layer}/descriptor?{query}")
    if registry_has(args.registry, args.repository, descriptor["digest"]):
        print(f"{layer}: {descriptor['digest']} already in the registry", file=sys.stderr)
        return descriptor
    url = f"{args.server}/layers/{layer}/tar?{query}"
    try:
        with urllib.request.urlopen(url, timeout=300) as source:
            announced = source.headers.get("Docker-Content-Digest")
            if announced not in (None, descriptor["digest"]):
                fail(f"{layer}: the export announces {announced}, the descriptor said {descriptor['digest']}")
            push_blob(args.registry, args.repository, descriptor["digest"], descriptor["size"],
                      ExactBody(source, descriptor["size"]), layer)
    except urllib.error.HTTPError as e:
        fail(f"GET {url}: {e.code} {e.read().decode(errors='replace')}")
    except (http.client.HTTPException, OSError) as e:
        fail(f"{layer}: the transfer failed ({e}); nothing was committed under {descriptor['digest']}")
    print(f"{layer}: pushed {descriptor['digest']} ({descriptor['size']} bytes)", file=sys.stderr)
    return descriptor


def push_manifest(args, layers, os_name, architecture):
    """Pushes the image config (unless the registry has it) and the manifest of `layers`; returns the manifest's digest."""
    config = json.dumps({"architecture": architecture, "os": os_name, "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [d["diffID"] for d in layers]}},
                        sort_keys=True, separators=(",", ":")).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    if not registry_has(args.registry, args.repository, config_digest):
        push_blob(args.registry, args.repository, config_digest, len(config), config, "image config")

    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"]} for d in layers],
    }, sort_keys=True, separators=(",", ":")).encode()
    status, headers, text = put(f"{args.registry}/v2/{args.repository}/manifests/{args.tag}", manifest, len(manifest),
                                MANIFEST_TYPE)
    if status != 201:
        fail(f"the registry answered {status} to the manifest: {text}")
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layer", help="the top layer's ID (containers-storage: or a name from layers.json); its recorded parents come along")
    parser.add_argument("--server", default="http://127.0.0.1:5000", help="LayerExport's base URL")
    parser.add_argument("--registry", required=True, help="the registry's base URL, e.g. http://127.0.0.1:5001")
    parser.add_argument("--repository", required=True)
    parser.add_argument("--tag", default="latest")
    parser.add_argument("--compression", choices=["none", "gzip", "zstd"], default="gzip")
    parser.add_argument("--platform", default="linux/amd64", help="os/architecture written into the image config")
    args = parser.parse_args()
    args.server = args.server.rstrip("/")
    args.registry = args.registry.rstrip("/")
    os_name, _, architecture = args.platform.partition("/")

    # A containers-storage name may hold '/' or '%': the path takes it as one percent-encoded segment. The layer
    # it names then goes by its ID, so that a name moved to another layer meanwhile cannot change what is pushed.
    described = get_json(f"{args.server}/layers/{urllib.parse.quote(args.layer, safe='')}")
    bottom_up = list(reversed(described["chain"])) + [described["id"]]
    layers = []
    for index, layer in enumerate(bottom_up):
        # Each layer's own parents, nearest first: the part of the chain below it.
        parents = list(reversed(bottom_up[:index]))
        layers.append(push_layer(args, layer, parents))

    try:
        digest = push_manifest(args, layers, os_name, architecture)
    except (http.client.HTTPException, OSError) as e:
        fail(f"pushing the image config and manifest to {args.registry}: {e}")
    print(f"{args.repository}:{args.tag} = {digest}", file=sys.stderr)
    print(digest)


if __name__ == "__main__":
    main()
