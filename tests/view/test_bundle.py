"""The committed map-page bundle is what the pinned npm packages and viewer/src build (no stale bundle)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests import prerequisites

REPO = Path(__file__).resolve().parents[2]
VIEWER = REPO / "viewer"
STATIC = REPO / "scoresby" / "view" / "static"


def test_the_committed_bundle_matches_the_sources(tmp_path: Path) -> None:
    esbuild = VIEWER / "node_modules" / ".bin" / "esbuild"
    if not esbuild.is_file() or shutil.which("node") is None:
        prerequisites.missing(
            "viewer/node_modules is missing (`make viewer-deps` installs the pinned packages)"
        )
    out = tmp_path / "viewer.js"
    subprocess.run(
        [
            str(esbuild),
            "src/main.js",
            "--bundle",
            "--minify",
            "--format=iife",
            "--target=es2020",
            "--legal-comments=linked",
            f"--outfile={out}",
        ],
        cwd=VIEWER,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert out.read_bytes() == (STATIC / "viewer.js").read_bytes(), "run `make viewer` and commit the bundle"
    assert (tmp_path / "viewer.css").read_bytes() == (STATIC / "viewer.css").read_bytes()
    # the build script of package.json is this same command
    script = json.loads((VIEWER / "package.json").read_text())["scripts"]["build"]
    assert script.startswith("esbuild src/main.js --bundle --minify --format=iife --target=es2020 ")
