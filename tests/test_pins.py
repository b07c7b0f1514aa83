"""The test environment runs the worker image's pins: `make install` applies worker/constraints.txt."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "worker" / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = version
    return pins


def test_every_worker_pin_is_the_installed_version() -> None:
    """A host/image drift (a dev dependency pulling a newer numpy, say) fails here, before the image tests."""
    pins = _pins()
    pins.pop("setuptools")  # the image build's own tool, removed from the image; pip's business here
    assert len(pins) > 40
    installed = {name: _installed(name) for name in pins}
    assert {n: v for n, v in installed.items() if v != pins[n]} == {}


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
