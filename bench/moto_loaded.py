"""moto's S3 server for bench/archive.sh, with an archive loaded straight into its memory.

    moto_loaded.py PORT FOLDER TEMPLATE BUCKET PREFIX

Loads every file under FOLDER as an object under PREFIX in BUCKET (no HTTP: moto takes about a
hundred PUTs a second here, and 100,000 articles are 400,000 objects), then the cost index
entries named in TEMPLATE (lines `versions/<id>/v<N>.md<TAB>index/cost/...ETAG...`, written by
examples/archive.rs) with each version's ETag, as a worker writes them; then serves as
`moto_server -H 127.0.0.1 -p PORT` does, logging every request.

moto lists by walking and sorting every key of the bucket for each page of 1,000, which at
400,000 keys takes many seconds a page and would measure moto rather than the commands. Its
ListObjectsV2 without a delimiter (what the product sends) is replaced here by a slice of a
sorted index of the names, as a real store answers; everything else is moto's own.
"""

import bisect
import os
import sys

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeDeleteMarker, S3Backend, s3_backends
from moto.server import main

port, folder, template, bucket_name, prefix = sys.argv[1:6]

original = S3Backend.list_objects_v2
sorted_names = {}


def names_of(bucket):
    cached = sorted_names.get(bucket.name)
    if cached is None or cached[0] != len(bucket.keys):
        cached = (len(bucket.keys), sorted(bucket.keys.keys()))
        sorted_names[bucket.name] = cached
    return cached[1]


def list_objects_v2(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys):
    if delimiter:
        return original(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
    prefix = prefix or ""
    names = names_of(bucket)
    start = bisect.bisect_left(names, prefix)
    if continuation_token or start_after:
        limit = self._pagination_tokens.get(continuation_token) if continuation_token else start_after
        start = max(start, bisect.bisect_right(names, limit))
    found = []
    for name in names[start:]:
        if not name.startswith(prefix) or len(found) > max_keys:
            break
        key = bucket.keys[name]
        if not isinstance(key, FakeDeleteMarker):
            found.append(key)
    return self._truncate_result(found, max_keys)


S3Backend.list_objects_v2 = list_objects_v2

backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
backend.create_bucket(bucket_name, "us-east-1")
for directory, _, files in os.walk(folder):
    for file in files:
        path = os.path.join(directory, file)
        relative = os.path.relpath(path, folder)
        with open(path, "rb") as f:
            backend.put_object(bucket_name, f"{prefix}/{relative}", f.read())
with open(template) as lines:
    for line in lines:
        version, entry = line.rstrip("\n").split("\t")
        etag = backend.get_object(bucket_name, f"{prefix}/{version}").etag.strip('"')
        backend.put_object(bucket_name, f"{prefix}/{entry.replace('ETAG', etag)}", b"")
print(f"loaded {folder} into s3://{bucket_name}/{prefix}", file=sys.stderr, flush=True)
main(["-H", "127.0.0.1", "-p", port])
