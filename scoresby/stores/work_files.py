"""Files under a local folder or an s3:// prefix, by URI: what the AWS place stage's jobs hand each other.

Small documents (plans, tile figures, outcomes) and whole files (tile GTiffs), listed and removed by prefix.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from scoresby.core.layout import split_s3_uri
from scoresby.stores.run_files import write_atomic


def _s3_client() -> Any:
    import boto3

    # Made at call time so tests can point it at moto (AWS_ENDPOINT_URL is honoured by boto3 itself).
    return boto3.client("s3")


def gdal_path(uri: str) -> str:
    """The path GDAL opens a file by: /vsis3/bucket/key for s3://, else the path itself."""
    return "/vsis3/" + uri.removeprefix("s3://") if uri.startswith("s3://") else uri


def join(base: str, *parts: str) -> str:
    """`base` and parts joined with "/" (no doubled slashes)."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def write_text(uri: str, text: str) -> None:
    """Write one document whole (local: atomic rename; s3://: one PUT)."""
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        _s3_client().put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def write_json(uri: str, doc: Any) -> None:
    """Write a JSON document whole."""
    write_text(uri, json.dumps(doc, indent=1, sort_keys=True))


def read_text(uri: str) -> str | None:
    """A document's text; None when it is not there."""
    if uri.startswith("s3://"):
        from botocore.exceptions import ClientError

        bucket, key = split_s3_uri(uri)
        try:
            body = _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return bytes(body).decode("utf-8")
    try:
        return Path(uri).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def upload(path: Path, uri: str) -> None:
    """Copy a local file to `uri` (local: copied, then renamed into place)."""
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        _s3_client().upload_file(str(path), bucket, key)
        return
    dest = Path(uri)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(path, tmp)
    tmp.replace(dest)


def list_names(prefix_uri: str) -> list[str]:
    """Every file under a folder or prefix, as paths relative to it (sorted)."""
    base = prefix_uri.rstrip("/") + "/"
    if base.startswith("s3://"):
        bucket, prefix = split_s3_uri(base)
        names = []
        pages = _s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            names += [obj["Key"][len(prefix) :] for obj in page.get("Contents", [])]
        return sorted(names)
    root = Path(base)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def remove(uri: str) -> None:
    """Delete one file (nothing when it is not there)."""
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        _s3_client().delete_object(Bucket=bucket, Key=key)
    else:
        Path(uri).unlink(missing_ok=True)


def remove_tree(prefix_uri: str) -> None:
    """Delete a folder or every object under a prefix."""
    if not prefix_uri.startswith("s3://"):
        shutil.rmtree(prefix_uri, ignore_errors=True)
        return
    for name in list_names(prefix_uri):
        remove(join(prefix_uri, name))
