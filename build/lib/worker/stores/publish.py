"""Publishing a scene's finished files to a folder or an s3:// prefix, each whole or not at all."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from worker.core.errors import OutputError, one_line
from worker.core.layout import join_uri, split_s3_uri


def _s3_client() -> Any:
    import boto3

    # Made at call time so tests can point it at moto; AWS_ENDPOINT_URL is honoured by boto3 itself.
    return boto3.client("s3")


def exists(uri: str) -> bool:
    """True when a local file or an S3 object exists."""
    if not uri.startswith("s3://"):
        return Path(uri).is_file()
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(uri)
    try:
        _s3_client().head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def publish(scene_id: str, files: list[Path], dest: str) -> list[str]:
    """Move finished local files to a folder or s3:// prefix, each appearing whole or not at all.

    Local: copy to a hidden sibling, then os.replace (atomic on one file system). S3: one PUT (or a
    multipart upload) per object, which S3 makes visible only once complete.
    """
    uris: list[str] = []
    client = _s3_client() if dest.startswith("s3://") else None
    for path in files:
        uri = join_uri(dest, path.name)
        try:
            if client is not None:
                bucket, key = split_s3_uri(uri)
                client.upload_file(str(path), bucket, key)
            else:
                Path(dest).mkdir(parents=True, exist_ok=True)
                partial = Path(dest) / f".{path.name}.{uuid.uuid4().hex[:8]}.partial"
                try:
                    shutil.copyfile(path, partial)
                    partial.replace(uri)
                finally:
                    partial.unlink(missing_ok=True)
        except Exception as exc:
            raise OutputError(scene_id, f"cannot write {uri}: {one_line(exc)}") from exc
        uris.append(uri)
    return uris
