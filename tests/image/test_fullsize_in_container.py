"""A full-size scene in the image at the job definition's limits: it fits; SIGTERM stops it cleanly.

The container is run as the job definition says (vCPUs, memory as a hard limit without swap, read-only
root, the scratch Docker volume at /tmp), on the full-size Landsat scene of `make bench`
(scoresby/demo/fullsize.py, 7,801 x 7,911 px; generated once into bench-output/ and reused).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rio_cogeo.cogeo import cog_validate

from scoresby.core.errors import EXIT_FAILED, EXIT_TERMINATED
from scoresby.demo import fullsize
from tests.containers import BatchContainer, batch_retry_action, docker
from tests.image.conftest import JobDefinition

pytestmark = [pytest.mark.image, pytest.mark.slow]

STOP_TIMEOUT_S = 10
"""`docker stop`'s default grace period before SIGKILL; ECS's (ECS_CONTAINER_STOP_TIMEOUT) is 30 s."""
SCENE_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def scene() -> fullsize.GeneratedScene:
    """The benchmark's full-size scene (about 80 s to generate the first time, 350 MiB)."""
    return fullsize.ensure_scene(fullsize.params_for(), log=lambda *_: None)


def job_container(
    image: str, job: JobDefinition, scene: fullsize.GeneratedScene, output: Path
) -> BatchContainer:
    """The scene's job as Batch runs it, plus the scene folder (read-only) and `output` bind-mounted."""
    container = BatchContainer.from_job(
        image,
        job.container,
        ["process", json.dumps({"source": str(scene.folder)}), "--output", "/out", "--run-name", "fullsize"],
        {},
    )
    container.binds = [(scene.folder, str(scene.folder), True), (output, "/out", False)]
    container.remove = False
    return container


@pytest.fixture
def started(
    image: str, job_definition: JobDefinition, scene: fullsize.GeneratedScene, writable_dir: Path
) -> Iterator[BatchContainer]:
    """The job's container, started detached; removed with its scratch volume after the test."""
    container = job_container(image, job_definition, scene, writable_dir)
    assert container.scratch_paths == ["/tmp"]  # the job definition's scratch volume
    docker(*container.argv(detach=True))
    try:
        yield container
    finally:
        docker("rm", "--force", "--volumes", container.name, check=False)


def anonymous_memory_bytes(container: BatchContainer) -> int | None:
    """The container's anonymous memory now (cgroup v1 `rss`, v2 `anon`), or None where it cannot be read.

    Not the cgroup's usage, which includes the page cache of the scene's reads and writes: under the limit
    the kernel reclaims that cache, so usage sits at the limit without any risk to the job.
    """
    long_id = docker("inspect", "-f", "{{.Id}}", container.name).stdout.strip()
    for path, key in (
        (Path(f"/sys/fs/cgroup/memory/docker/{long_id}/memory.stat"), "rss"),
        (Path(f"/sys/fs/cgroup/docker/{long_id}/memory.stat"), "anon"),
        (Path(f"/sys/fs/cgroup/system.slice/docker-{long_id}.scope/memory.stat"), "anon"),
    ):
        try:
            stats = dict(line.split() for line in path.read_text().splitlines())
            return int(stats[key])
        except (OSError, ValueError, KeyError):
            continue
    return None


def wait_exit(container: BatchContainer, timeout_s: float) -> tuple[int, bool, int | None]:
    """Exit code, OOM-killed flag and sampled peak anonymous memory of a container, once it stops."""
    deadline = time.monotonic() + timeout_s
    peak = None
    while docker("inspect", "-f", "{{.State.Running}}", container.name).stdout.strip() == "true":
        assert time.monotonic() < deadline, f"{container.name} still running after {timeout_s} s"
        now = anonymous_memory_bytes(container)
        peak = max(peak or 0, now) if now is not None else peak
        time.sleep(0.2)
    state = json.loads(docker("inspect", "-f", "{{json .State}}", container.name).stdout)
    return int(state["ExitCode"]), bool(state["OOMKilled"]), peak


def test_a_full_size_scene_completes_within_the_job_memory(
    started: BatchContainer, job_definition: JobDefinition, writable_dir: Path, scene: fullsize.GeneratedScene
) -> None:
    t0 = time.monotonic()
    exit_code, oom_killed, peak = wait_exit(started, SCENE_TIMEOUT_S)
    logs = docker("logs", started.name).stderr
    assert (exit_code, oom_killed) == (0, False), logs[-3000:]
    limit = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", started.name).stdout)
    assert limit["Memory"] == job_definition.memory_mib * 2**20  # the job definition's, as a hard limit
    assert limit["NanoCpus"] == int(job_definition.vcpus * 1e9)
    outputs = writable_dir / "fullsize" / scene.scene_id
    for product in ("true_color", "false_color_ice", "ndvi"):
        cog = outputs / f"{scene.scene_id}_{product}.tif"
        valid, errors, _ = cog_validate(str(cog))
        assert valid, errors
    print(
        f"full-size scene in the container: {time.monotonic() - t0:.1f} s, anonymous memory peak {peak} bytes"
    )


def test_docker_stop_mid_scene_exits_143_in_time_publishes_nothing_and_retries_only_a_spot_reclaim(
    started: BatchContainer, job_definition: JobDefinition, writable_dir: Path
) -> None:
    # mid-scene: discovery has logged the scene's bands, so the builder is reading or writing products
    deadline = time.monotonic() + 120
    while "bands B" not in docker("logs", started.name).stderr:
        assert time.monotonic() < deadline, docker("logs", started.name).stderr[-2000:]
        time.sleep(0.2)
    time.sleep(1.0)
    t0 = time.monotonic()
    docker("stop", "--time", str(STOP_TIMEOUT_S), started.name, timeout=STOP_TIMEOUT_S + 30)
    stopped_in = time.monotonic() - t0
    exit_code, oom_killed, _ = wait_exit(started, 30)
    logs = docker("logs", started.name).stderr
    assert exit_code == EXIT_TERMINATED, logs[-3000:]  # 143, not 137 (SIGKILL after the grace period)
    assert not oom_killed
    assert stopped_in < STOP_TIMEOUT_S
    print(f"docker stop mid-scene: exit {exit_code} after {stopped_in:.1f} s")
    assert "scoresby: error:" in logs.strip().splitlines()[-1]
    # nothing published: no scene folder, no staged copy, nothing at all in the output
    assert [str(p.relative_to(writable_dir)) for p in writable_dir.rglob("*")] == []
    # and its temporary files are gone from the scratch volume (matplotlib's font cache may stay)
    mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", started.name).stdout)
    [volume] = [m["Name"] for m in mounts if m["Destination"] == "/tmp"]
    left = docker(
        "run",
        "--rm",
        "--mount",
        f"type=volume,src={volume},dst=/scratch",
        "--entrypoint",
        "find",
        started.image,
        "/scratch",
        "-mindepth",
        "1",
        "-not",
        "-path",
        "/scratch/matplotlib*",
    ).stdout.split()
    assert left == []
    # the job definition's retry strategy: 143 is retried after a Spot reclaim only
    strategy = job_definition.retry_strategy
    assert (
        batch_retry_action(strategy, exit_code, "Host EC2 (instance i-0123456789abcdef0) terminated.")
        == "RETRY"
    )
    assert batch_retry_action(strategy, exit_code, "Job attempt duration exceeded timeout") == "EXIT"
    assert batch_retry_action(strategy, exit_code, "Terminated by the user") == "EXIT"
    assert batch_retry_action(strategy, EXIT_FAILED, "Essential container in task exited") == "EXIT"
