"""collection.json of a run folder (local or s3://): every STAC Item JSON under it, linked, written whole."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scoresby.core.layout import split_s3_uri
from scoresby.report.collection import COLLECTION_NAME, build_collection, is_item
from scoresby.stores.run_files import write_run_file

log = logging.getLogger(__name__)

READERS = 16
"""Parallel GETs of Item JSON on S3 (a 10,000-scene run has 10,000 Items)."""


def _local_items(run_dir: str) -> Iterator[tuple[str, dict[str, Any]]]:
    root = Path(run_dir)
    for path in sorted(root.rglob("*.json")):
        rel = path.relative_to(root).as_posix()
        # Hidden names are temporary files mid-write; symlinks could point out of the run folder.
        if path.is_symlink() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if "/" not in rel:  # the run's own files (summary.json, collection.json, ...) sit at the top
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("collection: %s left out: %s", path, exc)
            continue
        if is_item(doc):
            yield rel, doc


def _s3_items(run_dir: str, s3: Any) -> list[tuple[str, dict[str, Any]]]:
    bucket, prefix = split_s3_uri(run_dir)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix) :]
            if rel.endswith(".json") and "/" in rel and not any(p.startswith(".") for p in rel.split("/")):
                keys.append(rel)

    def read(rel: str) -> tuple[str, Any]:
        try:
            body = s3.get_object(Bucket=bucket, Key=prefix + rel)["Body"].read()
            return rel, json.loads(body)
        except Exception as exc:  # noqa: BLE001 - an unreadable file is left out of the Collection, logged
            log.warning("collection: s3://%s/%s%s left out: %s", bucket, prefix, rel, exc)
            return rel, None

    with ThreadPoolExecutor(READERS) as pool:
        return [(rel, doc) for rel, doc in pool.map(read, keys) if is_item(doc)]


def write_collection(
    run_name: str, run_dir: str, s3_client: Any = None
) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """Write `<run_dir>/collection.json` linking every Item under the run folder; return where and the Items.

    Written whole (local: atomic rename; S3: one PUT), so a re-run or watch round replaces it or leaves
    the previous one.
    """
    if run_dir.startswith("s3://"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        items = _s3_items(run_dir if run_dir.endswith("/") else run_dir + "/", s3_client)
    else:
        items = list(_local_items(run_dir))
    collection = build_collection(run_name, items)
    data = (json.dumps(collection, indent=1) + "\n").encode("utf-8")
    where = write_run_file(run_dir, COLLECTION_NAME, data, "application/json", s3_client=s3_client)
    log.info("collection of %d Items written to %s", len(items), where)
    return where, items
