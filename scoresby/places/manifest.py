"""The place manifest: what each published place product was made from, so a later run redoes only changes.

`<place>/manifest.json` = {"version", "scenes": {scene_id: {"key", "sensor", "datetime"}}, "products":
{item_id: fingerprint}, "inputs": {item_id: record}}. `inputs` says what a composite ({"settings",
"scenes": {scene_id: key}}) or a trend ({"settings", "inputs": [[composite item_id, fingerprint], ...]}) was
made from, so a composite that only gained scenes, and its trend, are made again only where they are
(reuse.py).
It is rewritten (atomically) after each product is published, so a run killed mid-way leaves every finished
product recorded and the next run makes the rest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from scoresby.stores.run_files import write_atomic

VERSION = 1
"""Bump when the place products' maths changes: every fingerprint then differs and all is made again."""


def fingerprint(*parts: Any) -> str:
    """SHA-256 (hex, 24 digits) of JSON-serialisable parts."""
    text = json.dumps([VERSION, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def load(path: Path) -> dict[str, Any]:
    """The manifest, or an empty one when missing or unreadable (then everything is made again)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        return {"version": VERSION, "scenes": {}, "products": {}, "inputs": {}}
    for key in ("scenes", "products", "inputs"):
        if not isinstance(doc.get(key), dict):
            doc[key] = {}
    return doc


def save(path: Path, doc: dict[str, Any]) -> None:
    """Write the manifest atomically (a temp file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(doc, indent=1, sort_keys=True))
