"""Publishing a scene's finished files to a folder or an s3:// prefix: the whole scene or nothing of it."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from scoresby.core.errors import InsufficientSpace, OutputError, SceneError, StorageError, one_line
from scoresby.core.layout import join_uri, split_s3_uri

STAGING_SUFFIX = ".staging"
RETIRED_SUFFIX = ".retired"
"""Hidden siblings `.<scene_id>.<id>.staging|.retired` of a scene folder while it is being replaced."""


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
    """Publish a scene's files (the STAC Item last in `files`); readers never see part of a new scene.

    Local: the whole scene is staged in a hidden sibling folder (files of other products already in the
    scene folder are hard-linked along), then swapped in with one rename. S3: the old STAC Item is removed
    first and the new one uploaded last, so a scene without its STAC Item is one not (yet) published.
    """
    if dest.startswith("s3://"):
        return _publish_s3(scene_id, files, dest)
    return _publish_local(scene_id, files, Path(dest))


def _publish_local(scene_id: str, files: list[Path], dest: Path) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    staging = dest.parent / f".{dest.name}.{tag}{STAGING_SUFFIX}"
    retired = dest.parent / f".{dest.name}.{tag}{RETIRED_SUFFIX}"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        for path in files:
            shutil.copyfile(path, staging / path.name)
        new_names = {p.name for p in files}
        if dest.is_dir():
            for old in dest.iterdir():
                if old.is_file() and old.name not in new_names and not old.name.startswith("."):
                    os.link(old, staging / old.name)
        _fsync_dir(staging)
        if not dest.exists():
            staging.rename(dest)
        elif not _exchange(staging, dest):
            dest.rename(retired)  # readers see no folder for a moment, never half of one
            staging.rename(dest)
        else:
            staging.rename(retired)
        _fsync_dir(dest.parent)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _output_error(scene_id, dest, exc) from exc
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)
    return [str(dest / p.name) for p in files]


def _output_error(scene_id: str, dest: Path, exc: OSError) -> SceneError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free = shutil.disk_usage(dest.parent).free if dest.parent.exists() else 0
        return InsufficientSpace(scene_id, f"cannot write {dest}: the disk is full ({free:,} bytes free)")
    return OutputError(scene_id, f"cannot write {dest}: {_cause(exc)}")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where not supported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish_s3(scene_id: str, files: list[Path], dest: str) -> list[str]:
    client = _s3_client()
    uris = [join_uri(dest, p.name) for p in files]
    try:
        bucket, stac_key = split_s3_uri(uris[-1])
        client.delete_object(Bucket=bucket, Key=stac_key)
        for path, uri in zip(files, uris, strict=True):
            bucket, key = split_s3_uri(uri)
            client.upload_file(str(path), bucket, key)
    except Exception as exc:
        raise OutputError(scene_id, f"cannot write {dest}: {one_line(exc)}") from exc
    return uris


def remove_stale_staging(run_dir: Path, scene_id: str) -> None:
    """Delete staging/retired siblings of a scene folder that a killed earlier attempt left behind."""
    for pattern in (f".{scene_id}.*{STAGING_SUFFIX}", f".{scene_id}.*{RETIRED_SUFFIX}"):
        for leftover in run_dir.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def check_writable(output: str) -> None:
    """Prove before any scene starts that the output takes writes; StorageError naming it and the cause.

    Local: create the folder and a hidden probe file. S3: PUT and DELETE a hidden probe object, which
    checks the credentials, the bucket and the write permission in one go.
    """
    probe_name = f".scoresby-write-check-{uuid.uuid4().hex[:8]}"
    try:
        if output.startswith("s3://"):
            bucket, prefix = split_s3_uri(output)
            key = f"{prefix.rstrip('/')}/{probe_name}".lstrip("/")
            client = _s3_client()
            client.put_object(Bucket=bucket, Key=key, Body=b"")
            client.delete_object(Bucket=bucket, Key=key)
            return
        folder = Path(output)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the output folder {output}: {_cause(exc)}") from exc
        probe = folder / probe_name
        probe.write_bytes(b"")
        probe.unlink()
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"cannot write to the output {output}: {_cause(exc)}") from exc


def _cause(exc: BaseException) -> str:
    """The useful part of a storage error: botocore's error code and message, or the OS's reason."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return one_line(f"{error.get('Code', '')}: {error.get('Message', '')}")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(exc) or type(exc).__name__
