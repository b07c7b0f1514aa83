"""The init Lambda's layer: pystac-client and its pinned closure, pip-installed for the Lambda's platform.

`make lambda-deps` (part of `make install`) runs this once; synthesis only points the layer asset at the
folder, so `cdk synth` needs neither Docker nor the network. The wheels are the ones for the Lambda's
Python version and ARM64, whatever machine builds them (`pip install --platform --only-binary`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "lambdas" / "requirements.txt"
LAYER_DIR = REPO_ROOT / "build" / "lambda-layer"
# The one runtime of both functions: the Python the tests run the staged asset with (Debian 12's 3.11; no
# newer interpreter is obtainable on the build machines). AWS Lambda supports python3.11 until its
# deprecation on 2027-06-30 (README, "Not verified"); moving on is this one line plus the test interpreter.
RUNTIME = lambda_.Runtime.PYTHON_3_11
PLATFORM = "manylinux2014_aarch64"  # the functions run on ARM64 (infra/run_functions.py)
STAMP = ".scoresby-layer"


class LayerNotBuilt(RuntimeError):
    """The layer folder is missing or was built from other pins; says how to build it."""


def layer_key(python_version: str, requirements: Path = REQUIREMENTS) -> str:
    """What the folder was built from: the Lambda's Python version, the platform and the pins' hash."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    return f"python{python_version} {PLATFORM} {digest}"


def check_layer(python_version: str, layer_dir: Path = LAYER_DIR) -> Path:
    """The built layer folder; LayerNotBuilt when it is absent or stale (other pins or Python version)."""
    stamp = layer_dir / STAMP
    if not stamp.is_file() or stamp.read_text().strip() != layer_key(python_version):
        raise LayerNotBuilt(
            f"the init Lambda's layer {layer_dir} is missing or stale for Python {python_version} and "
            f"{REQUIREMENTS.name}; build it with `make lambda-deps`"
        )
    return layer_dir


def build_layer(python_version: str, layer_dir: Path = LAYER_DIR) -> int:
    """pip install the pinned requirements into `layer_dir/python` (the layer's import path); its size."""
    shutil.rmtree(layer_dir, ignore_errors=True)
    target = layer_dir / "python"
    subprocess.run(  # noqa: S603 - our own interpreter and pinned requirements file
        [
            sys.executable,
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--target", str(target), "--platform", PLATFORM, "--implementation", "cp"),
            *("--python-version", python_version, "--only-binary=:all:", "--no-deps", "--no-compile"),
            *("-r", str(REQUIREMENTS)),
        ],
        check=True,
    )
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing runs them in a Lambda
    (layer_dir / STAMP).write_text(layer_key(python_version) + "\n")
    return sum(f.stat().st_size for f in layer_dir.rglob("*") if f.is_file())


def main() -> int:
    """Build the layer for the Python version of RUNTIME; print its size."""
    version = RUNTIME.name.removeprefix("python")
    size = build_layer(version)
    sys.stdout.write(f"init Lambda layer: {LAYER_DIR} ({size / 1e6:.1f} MB unzipped, Python {version})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
