"""Where a scene's files live: a local folder, an s3:// prefix or an https:// base URL, behind one interface.

Names are '/'-separated paths relative to the source root. `gdal_path(name)` is what rasterio opens:
the local path, `/vsis3/bucket/key` or `/vsicurl/https://...`. Only small metadata files are read here;
rasters are never downloaded.
"""

from __future__ import annotations

import functools
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scoresby.core.errors import SourceNotFound, UnreadableRaster

logger = logging.getLogger(__name__)

MAX_METADATA_BYTES = 8 * 1024 * 1024
"""Metadata files (MTL, MTD, STAC JSON) are a few kB; anything bigger is not one of them."""
MAX_LISTED_OBJECTS = 20_000
"""A scene folder holds tens of files; far more means the source points above one scene."""
MAX_LOCAL_DEPTH = 6
"""Deep enough for SAFE's GRANULE/<id>/IMG_DATA/R10m/ layout, shallow enough not to walk a whole disk."""
HTTP_TIMEOUT_S = 20.0
HTTP_PROBE_THREADS = 8


def aws_credentials_available() -> bool:
    """Whether boto3 finds AWS credentials (environment, config files, container or instance role)."""
    return _credentials_found(tuple(os.environ.get(name, "") for name in _CREDENTIAL_VARIABLES))


_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
)


@functools.lru_cache(maxsize=8)
def _credentials_found(environment: tuple[str, ...]) -> bool:
    # Asked once per process and environment, not once per scene: a boto3 Session plus the credential
    # chain (on EC2 an instance-metadata call) cost ~50 ms, a fixed cost of every small scene.
    import boto3

    return boto3.Session().get_credentials() is not None


class Source(ABC):
    """A scene's file location: probing for names, small reads, GDAL paths."""

    def __init__(self, scene_id: str, uri: str) -> None:
        self.scene_id = scene_id
        self.uri = uri

    @abstractmethod
    def existing(self, names: Iterable[str]) -> list[str]:
        """The subset of `names` that exist, in the given order."""

    @abstractmethod
    def gdal_path(self, name: str) -> str:
        """The path GDAL/rasterio opens for `name`."""

    @abstractmethod
    def read_text(self, name: str, max_bytes: int = MAX_METADATA_BYTES) -> str:
        """The text of a small metadata file; raises UnreadableRaster naming the file if unreadable."""

    def _unreadable(self, name: str, reason: str) -> UnreadableRaster:
        return UnreadableRaster(self.scene_id, f"cannot read metadata file {self.gdal_path(name)}: {reason}")

    def _decode(self, name: str, data: bytes, max_bytes: int = MAX_METADATA_BYTES) -> str:
        if len(data) > max_bytes:
            raise self._unreadable(name, f"{len(data)} bytes, more than a metadata file can be")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise self._unreadable(name, f"not UTF-8 text ({exc})") from exc


def open_source(scene_id: str, uri: str) -> Source:
    """The Source for a scene's `source` value; raises SourceNotFound for an unsupported scheme."""
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme == "s3":
        return S3Source(scene_id, uri)
    if scheme in ("https", "http"):
        # http only reaches here from a Scene built in code (scene lists refuse it); GDAL never opens it.
        return HttpSource(scene_id, uri)
    if scheme in ("", "file"):
        return LocalSource(scene_id, uri)
    raise SourceNotFound(
        scene_id,
        f"source {uri!r} has unsupported scheme {scheme!r}; allowed: a local folder, s3://, https://",
    )


class ListedSource(Source):
    """A source whose files can be listed (local folders, s3://); HTTPS cannot, and is probed instead."""

    @abstractmethod
    def list_names(self) -> list[str]:
        """Every file under the source, sorted; raises SourceNotFound when the source does not exist."""


class LocalSource(ListedSource):
    """A folder on this machine (SAFE folders are walked into, up to MAX_LOCAL_DEPTH levels)."""

    def __init__(self, scene_id: str, uri: str) -> None:
        super().__init__(scene_id, uri)
        path = uri[len("file://") :] if uri.startswith("file://") else uri
        self.root = Path(path).expanduser().absolute()

    def list_names(self) -> list[str]:
        """Every regular file below the folder (hidden entries skipped), as sorted relative paths."""
        if not self.root.exists():
            raise SourceNotFound(self.scene_id, f"source folder {self.uri!r} does not exist")
        if not self.root.is_dir():
            raise SourceNotFound(self.scene_id, f"source {self.uri!r} is a file; expected the scene's folder")
        names: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = Path(dirpath).relative_to(self.root)
            depth = len(rel.parts)
            dirnames[:] = (
                [] if depth >= MAX_LOCAL_DEPTH else sorted(d for d in dirnames if not d.startswith("."))
            )
            names.extend((rel / f).as_posix() for f in filenames if not f.startswith("."))
            if len(names) > MAX_LISTED_OBJECTS:
                raise SourceNotFound(
                    self.scene_id,
                    f"source folder {self.uri!r} holds more than {MAX_LISTED_OBJECTS} files; "
                    "point source at one scene's folder",
                )
        return sorted(names)

    def existing(self, names: Iterable[str]) -> list[str]:
        """Names that are files below the folder."""
        return [n for n in names if (self.root / n).is_file()]

    def gdal_path(self, name: str) -> str:
        """Absolute local path."""
        return str(self.root / name)

    def read_text(self, name: str, max_bytes: int = MAX_METADATA_BYTES) -> str:
        """Read a local metadata file."""
        path = self.root / name
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise self._unreadable(name, "it is a link to a file outside the scene folder; not read")
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise self._unreadable(name, f"{size} bytes, more than a metadata file can be")
            return self._decode(name, path.read_bytes(), max_bytes)
        except OSError as exc:
            raise self._unreadable(name, str(exc)) from exc


class S3Source(ListedSource):
    """An s3://bucket/prefix/ location, listed and read with boto3 as requester (requester pays works)."""

    def __init__(self, scene_id: str, uri: str) -> None:
        super().__init__(scene_id, uri)
        parts = urllib.parse.urlsplit(uri)
        self.bucket = parts.netloc
        if not self.bucket:
            raise SourceNotFound(scene_id, f"source {uri!r} names no bucket; expected s3://bucket/prefix/")
        prefix = parts.path.lstrip("/")
        # A trailing slash keeps "…/LC08_X" from also matching the sibling folder "…/LC08_X_extra".
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._client: Any = None
        self.anonymous = False

    @property
    def client(self) -> Any:
        """The boto3 S3 client, made on first use so that moto and AWS_ENDPOINT_URL apply at call time.

        Without any AWS credentials the client is unsigned, so that public buckets (sentinel-cogs) work
        from a laptop; requester-pays buckets then answer AccessDenied, which the error message explains.
        """
        if self._client is None:
            import boto3
            from botocore import UNSIGNED
            from botocore.config import Config

            self.anonymous = not aws_credentials_available()
            if self.anonymous:
                logger.info("no AWS credentials found: reading %s anonymously", self.uri)
            self._client = boto3.client(
                "s3", config=Config(signature_version=UNSIGNED) if self.anonymous else None
            )
        return self._client

    def _not_found(self, exc: Exception) -> SourceNotFound:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "?"), error.get("Message", "")
            if code == "NoSuchBucket":
                return SourceNotFound(
                    self.scene_id, f"source {self.uri!r}: bucket {self.bucket!r} does not exist"
                )
            hint = (
                " (no AWS credentials were found; requester-pays buckets such as usgs-landsat need them)"
                if self.anonymous and code in ("AccessDenied", "403")
                else ""
            )
            return SourceNotFound(
                self.scene_id, f"source {self.uri!r} cannot be listed: {code} {message}".strip() + hint
            )
        return SourceNotFound(self.scene_id, f"source {self.uri!r} cannot be listed: {exc}")

    def list_names(self) -> list[str]:
        """Every object key under the prefix (paginated, requester pays), relative to the prefix."""
        from botocore.exceptions import BotoCoreError, ClientError

        names: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, RequestPayer="requester"
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    if not key.endswith("/"):  # folder placeholder objects made by consoles
                        names.append(key[len(self.prefix) :])
                if len(names) > MAX_LISTED_OBJECTS:
                    raise SourceNotFound(
                        self.scene_id,
                        f"source {self.uri!r} holds more than {MAX_LISTED_OBJECTS} objects; "
                        "point source at one scene's folder",
                    )
        except (ClientError, BotoCoreError) as exc:
            raise self._not_found(exc) from exc
        logger.debug("listed %d objects under s3://%s/%s", len(names), self.bucket, self.prefix)
        return sorted(names)

    def existing(self, names: Iterable[str]) -> list[str]:
        """Names present in a listing of the prefix."""
        present = set(self.list_names())
        return [n for n in names if n in present]

    def gdal_path(self, name: str) -> str:
        """`/vsis3/bucket/prefix/name`."""
        return f"/vsis3/{self.bucket}/{self.prefix}{name}"

    def read_text(self, name: str, max_bytes: int = MAX_METADATA_BYTES) -> str:
        """Read a metadata object through boto3 (requester pays)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self.prefix + name, RequestPayer="requester"
            )
            if int(response.get("ContentLength", 0)) > max_bytes:
                raise self._unreadable(
                    name, f"{response['ContentLength']} bytes, more than a metadata file can be"
                )
            data = response["Body"].read(max_bytes + 1)
        except (ClientError, BotoCoreError) as exc:
            raise self._unreadable(name, str(exc)) from exc
        return self._decode(name, data, max_bytes)


class HttpSource(Source):
    """An https:// (or plain http://) base URL: no listing, so discovery probes candidate names with HEAD."""

    def __init__(self, scene_id: str, uri: str) -> None:
        super().__init__(scene_id, uri)
        parts = urllib.parse.urlsplit(uri)
        if not parts.netloc:
            raise SourceNotFound(scene_id, f"source {uri!r} names no host; expected https://host/path/")
        self.base = uri if uri.endswith("/") else uri + "/"

    def url(self, name: str) -> str:
        """Absolute URL of `name`."""
        return self.base + urllib.parse.quote(name)

    def _exists(self, name: str) -> bool:
        request = urllib.request.Request(self.url(name), method="HEAD")  # noqa: S310 - scheme checked in open_source
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                return 200 <= int(response.status) < 300
        except urllib.error.HTTPError as exc:
            if exc.code in (405, 501):  # servers that refuse HEAD: ask for one byte instead
                return self._exists_by_range(name)
            if exc.code in (401, 403, 404, 410):
                return False
            raise SourceNotFound(
                self.scene_id, f"source {self.uri!r}: HTTP {exc.code} for {self.url(name)}"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceNotFound(self.scene_id, f"source {self.uri!r} cannot be reached: {reason}") from exc

    def _exists_by_range(self, name: str) -> bool:
        request = urllib.request.Request(self.url(name), headers={"Range": "bytes=0-0"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                return int(response.status) in (200, 206)
        except urllib.error.HTTPError:
            return False

    def existing(self, names: Iterable[str]) -> list[str]:
        """Names whose URL answers a HEAD request with 2xx (probed in parallel)."""
        unique = list(dict.fromkeys(names))
        with ThreadPoolExecutor(max_workers=HTTP_PROBE_THREADS) as pool:
            found = list(pool.map(self._exists, unique))
        logger.debug("probed %d names under %s, %d exist", len(unique), self.base, sum(found))
        return [n for n, ok in zip(unique, found, strict=True) if ok]

    def gdal_path(self, name: str) -> str:
        """`/vsicurl/<url>`."""
        return "/vsicurl/" + self.url(name)

    def read_text(self, name: str, max_bytes: int = MAX_METADATA_BYTES) -> str:
        """GET a metadata file."""
        try:
            with urllib.request.urlopen(self.url(name), timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                data = response.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:  # the status only: the server's reason phrase is its own text
            raise self._unreadable(name, f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise self._unreadable(name, str(getattr(exc, "reason", exc))) from exc
        return self._decode(name, data, max_bytes)


def gdal_env_options(paths: Iterable[str] | None = None) -> dict[str, str]:
    """GDAL configuration for reading scene files; use as `rasterio.Env(**gdal_env_options())`.

    When AWS_ENDPOINT_URL(_S3) points boto3 at an S3-compatible endpoint (moto, MinIO) and AWS_S3_ENDPOINT is
    not set, GDAL is pointed at the same endpoint so that /vsis3/ paths from discovery open there too.
    Without any AWS credentials, reads are anonymous (AWS_NO_SIGN_REQUEST=YES), as discovery's listing is.
    `paths`: the GDAL paths to be read; the credentials are looked for only when one is on S3 (None: any may
    be). Looking costs a boto3 session, and off EC2 up to a second or two of instance-metadata timeouts.
    """
    options = {
        "AWS_REQUEST_PAYER": "requester",  # usgs-landsat and sentinel-s2-l2a are requester-pays buckets
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no listing of the remote folder on each open
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF,.jp2,.JP2,.xml,.XML,.txt,.json",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_HTTP_MULTIPLEX": "YES",
        "GDAL_INGESTED_BYTES_AT_OPEN": "32768",  # COG headers in one request instead of several
        "GDAL_HTTP_MAX_RETRY": "5",
        "GDAL_HTTP_RETRY_DELAY": "1",
        "VSI_CACHE": "TRUE",
        # Per open file, not global: a scene opens six or more bands, and windows read each tile once,
        # so a small read-ahead cache is all that helps (64 MB each cost ~400 MB of RSS).
        "VSI_CACHE_SIZE": str(4 * 1024 * 1024),
        "CPL_VSIL_CURL_CACHE_SIZE": str(128 * 1024 * 1024),
    }
    on_s3 = paths is None or any(path.startswith("/vsis3") for path in paths)
    if on_s3 and "AWS_NO_SIGN_REQUEST" not in os.environ and not aws_credentials_available():
        # Same rule as discovery's boto3 client: no credentials anywhere means anonymous (public buckets).
        options["AWS_NO_SIGN_REQUEST"] = "YES"
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and not os.environ.get("AWS_S3_ENDPOINT"):
        parts = urllib.parse.urlsplit(endpoint)
        if parts.netloc:
            options["AWS_S3_ENDPOINT"] = parts.netloc
            options["AWS_HTTPS"] = "YES" if parts.scheme == "https" else "NO"
            options["AWS_VIRTUAL_HOSTING"] = "FALSE"
    return options
