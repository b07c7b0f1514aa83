"""Fixtures of the image tests: the built image, the synthesized job definition, host runs to compare with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import prerequisites
from tests.containers import DEFAULT_IMAGE, IMAGE_ENV, docker_problem
from tests.e2e import harness

SCORESBY = Path(sys.executable).with_name("scoresby")
PRODUCTS = "true_color,false_color_ice,ndvi,band_merge"
"""8-bit, float32 and uint16 COGs: each kind of output the worker writes."""


@pytest.fixture(scope="session")
def image() -> str:
    """The worker image to test (SCORESBY_IMAGE, default what `make image` builds); missing() if absent."""
    name = os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE
    problem = docker_problem(name)
    if problem:
        prerequisites.missing(f"the worker image cannot be run: {problem}")
    return name


@dataclass(frozen=True)
class JobDefinition:
    """The worker job definition of the synthesized stack, in the Batch API's camelCase."""

    container: dict[str, Any]
    retry_strategy: dict[str, Any]

    @property
    def vcpus(self) -> float:
        """vCPUs of a job."""
        return float(self._resources()["VCPU"])

    @property
    def memory_mib(self) -> int:
        """Memory of a job (MiB, a hard limit)."""
        return int(self._resources()["MEMORY"])

    def _resources(self) -> dict[str, str]:
        return {r["type"]: r["value"] for r in self.container["resourceRequirements"]}


@pytest.fixture(scope="session")
def job_definition(tmp_path_factory: pytest.TempPathFactory) -> JobDefinition:
    """app.py's scene job definition, synthesized once: limits, root filesystem, volumes, retry strategy."""
    template = harness.synthesize_template(tmp_path_factory.mktemp("cdk.out"))
    _, job = harness.only(template, "AWS::Batch::JobDefinition", "BatchWorkerJob")  # the scene jobs
    props = job["Properties"]
    container = props["ContainerProperties"]
    # Only the fields a container run needs; the rest (image URI, roles, log group) are references.
    wanted = ("ResourceRequirements", "ReadonlyRootFilesystem", "Volumes", "MountPoints")
    return JobDefinition(
        harness._camel({k: container[k] for k in wanted if k in container}),
        harness._camel(props["RetryStrategy"]),
    )


@pytest.fixture(scope="session")
def real_scenes(real_data_dir: Path) -> dict[str, Path]:
    """One real scene of each layout the worker reads: C2 L2 and pre-collection Landsat, S2 COGs and JP2."""
    folders = [
        "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2",
        "landsat8/LC80200392015216LGN00",
        "sentinel2/S2A_29RKH_20200219_0_L2A",
        "sentinel2/S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500",
    ]
    return {Path(f).name: real_data_dir / f for f in folders}


def host_process(scene: dict[str, Any], output: str, *extra: str, env: dict[str, str] | None = None) -> Path:
    """`scoresby process` on this machine (the reference run); fails the test on a non-zero exit."""
    proc = subprocess.run(
        [str(SCORESBY), "process", json.dumps(scene), "--output", output, *extra],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(output)


@pytest.fixture(scope="session")
def host_outputs(real_scenes: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real scenes processed on this machine, run name `image`."""
    out = tmp_path_factory.mktemp("host-outputs")
    for folder in real_scenes.values():
        host_process({"source": str(folder)}, str(out), "--products", PRODUCTS, "--run-name", "image")
    return out


@pytest.fixture
def writable_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty folder the image's non-root user may write into (bind-mounted as the output)."""
    out = tmp_path / "container-out"
    out.mkdir()
    out.chmod(0o777)  # the container's user (uid 10001) is not the owner
    yield out
