"""`scoresby process` in the worker image, as Batch runs it (non-root, read-only root), on real scenes."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from tests.containers import BatchContainer
from tests.image.compare import assert_same_scene_outputs
from tests.image.conftest import PRODUCTS, JobDefinition

pytestmark = [pytest.mark.image, pytest.mark.slow]

IMAGE_UID = 10001
"""The image's `scoresby` user (worker/Dockerfile)."""


def container_process(
    image: str, job: JobDefinition, source: Path, output: Path, *extra: str
) -> BatchContainer:
    """A read-only-root container of the image with a tmpfs /tmp, the source read-only, `output` writable."""
    return BatchContainer(
        image=image,
        command=["process", json.dumps({"source": str(source)}), "--output", "/out", *extra],
        environment={},
        vcpus=job.vcpus,
        memory_mib=job.memory_mib,
        readonly_root=True,
        tmpfs_paths=["/tmp"],
        binds=[(source, str(source), True), (output, "/out", False)],
    )


def test_real_scenes_in_the_container_equal_the_host_run(
    image: str,
    job_definition: JobDefinition,
    real_scenes: dict[str, Path],
    host_outputs: Path,
    writable_dir: Path,
) -> None:
    assert job_definition.container["readonlyRootFilesystem"] is True  # the job definition runs it this way
    for scene_id, folder in real_scenes.items():
        run = container_process(
            image, job_definition, folder, writable_dir, "--products", PRODUCTS, "--run-name", "image"
        ).run(timeout_s=300)
        assert run.returncode == 0, (scene_id, run.stderr[-3000:])
        got = writable_dir / "image" / scene_id
        assert assert_same_scene_outputs(host_outputs / "image" / scene_id, got) == 13
        # written by the image's non-root user, not by root
        assert {p.stat().st_uid for p in got.iterdir()} == {IMAGE_UID}


def test_the_image_runs_as_its_non_root_user_without_pip_or_compilers(image: str) -> None:
    from tests.containers import docker

    config = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "scoresby"
    # Batch overrides only the command: each job names its subcommand (process, timeseries)
    assert config["Entrypoint"] == ["scoresby"] and config["Cmd"] == ["--help"]
    bases = ("python:3.11-slim-bookworm", "scoresby-base:bookworm-python3")  # scripts/build_image.sh
    assert config["Labels"]["org.scoresby.base"] in bases
    assert not [e for e in config["Env"] if e.startswith(("AWS_ACCESS_KEY_ID", "AWS_SECRET", "PIP_CERT"))]
    probe = (
        "id -u; command -v pip pip3 gcc cc c++ make || true; "
        "ls /opt/scoresby/lib/python3.11/site-packages | grep -i -E '^(pip|setuptools|tests)$' || true; "
        "test -e /run/secrets/ca && echo CA-LEFT || true"
    )
    out = docker("run", "--rm", "--read-only", "--entrypoint", "sh", image, "-c", probe).stdout.split()
    assert out == [str(IMAGE_UID)], out


def test_the_image_holds_exactly_the_pinned_distributions(image: str) -> None:
    from tests.containers import REPO_ROOT, docker

    listing = (
        "import importlib.metadata as m; "
        "print('\\n'.join(sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions())))"
    )
    listed = docker("run", "--rm", "--entrypoint", "python3", image, "-c", listing).stdout.split()
    installed = {_normalised(pin) for pin in listed}
    pins = {
        _normalised(line)
        for line in (REPO_ROOT / "worker" / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("setuptools==")
    }
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert installed - {f"scoresby=={version}"} == pins
    # and the pins agree with worker/requirements.txt's own
    for line in (REPO_ROOT / "worker" / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            assert _normalised(line) in pins, line


def _normalised(pin: str) -> str:
    """A `name==version` pin with the name as pip compares it (PEP 503: case and -_. runs do not matter)."""
    name, version = pin.strip().split("==")
    return f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}"
