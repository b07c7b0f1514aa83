"""`make bench` part (c) of issue 14: the worker image's per-job overhead, container against host process.

One small real scene (a 100 x 100 px Landsat 8 C2 L2 crop, bench/real_small.py) is processed by
`scoresby process '<scene json>' --output /tmp/out --run-name bench`, as a Batch job runs it: `docker run`
of the image (ENTRYPOINT scoresby) with a read-only root, a tmpfs /tmp, the scene bind-mounted read-only,
the job's vCPUs and memory (pricing.cost) and no swap, as tests/containers.py does; and the same command as a
host process (`.venv/bin/scoresby process`). Timed from just before the process is started to the first
line on its stderr (the worker's first log line) and to its exit. Runs alternate host, container, ...;
one untimed warm-up of each comes first (page cache, image layers), medians of --runs are reported.

    .venv/bin/python bench/container_bench.py [--runs 5] [--image scoresby-worker:bench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import real_small  # noqa: E402
from scoresby.pricing import cost  # noqa: E402

OUT = REPO / "bench-output"
IMAGE = os.environ.get("SCORESBY_IMAGE", "scoresby-worker:bench")
PRODUCTS = "true_color,false_color_ice,ndvi"
NOTE = (
    "container rows: bench/container_bench.py, `scoresby process` of one 100 x 100 px real Landsat crop "
    "as `docker run` of the worker image (read-only root, tmpfs /tmp, scene bind-mounted read-only) and as a "
    "host process; start = just before the process is spawned; first log line = first line on stderr; "
    "medians after one untimed warm-up each; the image is already on the machine (no pull)"
)


@dataclass
class Timed:
    """One run: seconds to the first stderr line, to the worker's own first log line and to exit."""

    first_line_s: float
    worker_line_s: float
    exit_s: float
    first_line: str
    rc: int
    stderr: str = ""


WORKER_LOGGER = " scoresby."
"""Marks Scoresby's own log lines (" INFO scoresby.commands.process: "), not matplotlib's and others'."""


def docker_problem(image: str) -> str | None:
    """Why the image cannot be run here (no client, no engine, no image), or None when it can."""
    client = shutil.which("docker")
    if client is None:
        return "no docker client on PATH (`make install-docker`; `make bench` installs it)"
    info = subprocess.run([client, "info"], capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        return "no Docker engine answers (`make bench` starts one with scripts/with_dockerd.sh)"
    found = subprocess.run(
        [client, "image", "inspect", image], capture_output=True, text=True, timeout=30, check=False
    )
    if found.returncode != 0:
        return f"image {image} is not built (`make bench` builds it: scripts/build_image.sh {image})"
    return None


def timed_run(argv: list[str], env: dict[str, str] | None = None) -> Timed:
    """Run argv; time its first stderr line, its first `scoresby.` log line and its exit from the spawn."""
    nan = float("nan")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None  # noqa: S101 - stderr=PIPE
    lines: list[bytes] = []
    t_first = t_worker = nan
    for line in iter(proc.stderr.readline, b""):
        now = time.perf_counter() - t0
        if not lines:
            t_first = now
        if t_worker != t_worker and WORKER_LOGGER.encode() in line:
            t_worker = now
        lines.append(line)
    rc = proc.wait()
    t_exit = time.perf_counter() - t0
    text = b"".join(lines).decode(errors="replace")
    first = lines[0].decode(errors="replace").strip() if lines else ""
    return Timed(t_first, t_worker, t_exit, first, rc, text)


def container_argv(image: str, scene: dict) -> list[str]:
    """`docker run` of one job as Batch runs it (see tests/containers.py's BatchContainer.argv)."""
    src = scene["source"]
    mem = cost.job_memory_mib()
    return [
        "docker",
        "run",
        "--rm",
        "--name",
        f"scoresby-bench-{uuid.uuid4().hex[:12]}",
        "--network",
        "none",  # a local scene needs none; keeps the run off the host's network
        "--cpus",
        str(cost.MEASURED_VCPUS),
        "--memory",
        f"{mem}m",
        "--memory-swap",
        f"{mem}m",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,nosuid,nodev,exec",  # noqa: S108 - the container's own /tmp, as the image tests mount it
        "--mount",
        f"type=bind,src={src},dst={src},readonly",
        image,
        *process_args(scene),
    ]


def process_args(scene: dict, output: str = "/tmp/out") -> list[str]:  # noqa: S108 - inside the container
    """The `scoresby process` arguments (after the program name), the same on both sides but --output."""
    obj = json.dumps({"scene_id": scene["scene_id"], "source": scene["source"]})
    return ["process", obj, "--output", output, "--products", PRODUCTS, "--run-name", "bench"]


def measure(*, runs: int = 5, image: str = IMAGE, log=print) -> dict:
    """Medians of host and container runs (first log line, exit) and their ratios; or an error."""
    problem = docker_problem(image)
    if problem:
        return {"error": f"docker not available: {problem}"}
    scene = real_small.ensure_crops(OUT / "container-scene", landsat=1, sentinel2=0, log=log)[0]
    # The host writes under /tmp too, in a folder of its own (other people's runs share this /tmp).
    host_out = Path(tempfile.mkdtemp(prefix="scoresby-bench-"))
    exe = REPO / ".venv" / "bin" / "scoresby"
    host_argv = [str(exe), *process_args(scene, str(host_out))]
    host_env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    cont_argv = container_argv(image, scene)
    res: dict[str, list[Timed]] = {"host": [], "container": []}
    for i in range(runs + 1):  # run 0: warm-up, not counted
        for side in ("host", "container"):
            shutil.rmtree(host_out / "bench" / scene["scene_id"], ignore_errors=True)
            t = timed_run(host_argv, host_env) if side == "host" else timed_run(cont_argv)
            if t.rc != 0:
                shutil.rmtree(host_out, ignore_errors=True)
                return {"error": f"{side} run exited {t.rc}: {t.stderr.strip()[-300:]}"}
            if i:
                res[side].append(t)
            log(
                f"container bench {'warm-up' if not i else f'run {i}/{runs}'} {side:9s}: first log line "
                f"{t.first_line_s:5.2f} s, first worker. line {t.worker_line_s:5.2f} s, "
                f"exit {t.exit_s:5.2f} s"
            )
    shutil.rmtree(host_out, ignore_errors=True)
    fig: dict = {"runs": runs, "image": image, "scene_id": scene["scene_id"]}
    for side, ts in res.items():
        fig[side] = {
            "first_line_s": statistics.median(t.first_line_s for t in ts),
            "worker_line_s": statistics.median(t.worker_line_s for t in ts),
            "exit_s": statistics.median(t.exit_s for t in ts),
            "first_lines": [t.first_line_s for t in ts],
            "exits": [t.exit_s for t in ts],
            "first_line": ts[-1].first_line[:160],
        }
    fig["ratio_first_line"] = fig["container"]["first_line_s"] / fig["host"]["first_line_s"]
    fig["ratio_worker_line"] = fig["container"]["worker_line_s"] / fig["host"]["worker_line_s"]
    fig["ratio_exit"] = fig["container"]["exit_s"] / fig["host"]["exit_s"]
    fig["overhead_s"] = fig["container"]["exit_s"] - fig["host"]["exit_s"]
    return fig


def figures(fig: dict) -> dict[str, tuple[float, str]]:
    """Headline figures for bench-output/figures.json (name -> value, unit)."""
    if "error" in fig:
        return {}
    return {
        "container_first_log_line_s": (fig["container"]["first_line_s"], "s"),
        "container_exit_s": (fig["container"]["exit_s"], "s"),
        "host_first_log_line_s": (fig["host"]["first_line_s"], "s"),
        "host_exit_s": (fig["host"]["exit_s"], "s"),
        "container_first_worker_line_s": (fig["container"]["worker_line_s"], "s"),
        "host_first_worker_line_s": (fig["host"]["worker_line_s"], "s"),
        "container_over_host_first_log_line": (fig["ratio_first_line"], "x"),
    }


def report_lines(fig: dict) -> list[str]:
    """Markdown rows (ratio / figure | measured | target | verdict) for the results table."""
    if "error" in fig:
        return [f"| container per-job overhead | not measured: {fig['error'][:300]} | (info) | n/a |"]
    c, h = fig["container"], fig["host"]

    def runs(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    return [
        f"| container: `docker run` to first log line, median of {fig['runs']} ({runs(c['first_lines'])}) "
        f"| {c['first_line_s']:.2f} s | (info) | |",
        f"| host process: start to first log line ({runs(h['first_lines'])}) | {h['first_line_s']:.2f} s "
        "| (info) | |",
        f"| first log line container / host (container: `{c['first_line'][24:80]}`; host: "
        f"`{h['first_line'][24:80]}`) | {fig['ratio_first_line']:.2f}x | (info) | |",
        f"| first `scoresby.` log line (discovery done): container {c['worker_line_s']:.2f} s, host "
        f"{h['worker_line_s']:.2f} s | {fig['ratio_worker_line']:.2f}x | (info) | |",
        f"| one small scene to exit: container {c['exit_s']:.2f} s ({runs(c['exits'])}), host "
        f"{h['exit_s']:.2f} s ({runs(h['exits'])}) | {fig['ratio_exit']:.2f}x, "
        f"+{fig['overhead_s']:.2f} s per job | (info) | |",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--image", default=IMAGE)
    args = ap.parse_args(argv)
    fig = measure(runs=args.runs, image=args.image)
    if "error" in fig:
        print(f"container bench skipped: {fig['error']}")
    print("\n".join(report_lines(fig)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
