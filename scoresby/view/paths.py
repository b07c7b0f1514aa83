"""Which request paths may name a file of the run folder: no traversal, no hidden names, no symlink escape."""

from __future__ import annotations

import os
from pathlib import Path

RUN_PREFIX = "/run/"
"""Files of the run folder are served under this path; everything else is the viewer's own."""


class Refused(Exception):
    """A request path that names nothing the viewer serves (404, never a hint of what exists outside)."""


def run_relative(path_info: str) -> str:
    """The path under RUN_PREFIX as "a/b/c", checked segment by segment; Refused when not allowed.

    `path_info` is decoded once by the HTTP server; what is still encoded ("%2e%2e" sent as "%252e%252e")
    is refused rather than decoded again, as are backslashes, NUL, "." and ".." segments and hidden names
    (".scoresby", temporary ".x.tmp" files).
    """
    if not path_info.startswith(RUN_PREFIX):
        raise Refused(path_info)
    rel = path_info[len(RUN_PREFIX) :]
    if not rel or any(c in rel for c in ("\\", "\0", "%")) or len(rel) > 1024:
        raise Refused(path_info)
    parts = rel.split("/")
    if any(not p or p.startswith(".") for p in parts):  # "", ".", "..", hidden names, "//"
        raise Refused(path_info)
    return "/".join(parts)


def local_file(root: Path, rel: str) -> Path:
    """The regular file `rel` under `root`, following symlinks only while they stay inside `root`."""
    real_root = root.resolve(strict=True)
    target = (real_root / rel).resolve(strict=False)
    if not target.is_relative_to(real_root) or not target.is_file():
        raise Refused(rel)
    if os.path.commonpath([real_root, target]) != str(real_root):
        raise Refused(rel)
    return target
