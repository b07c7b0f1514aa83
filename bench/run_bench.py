"""`make bench`: Scoresby's worker against the GDAL command-line tools on a full-size Landsat 8 L2 scene.

Not a timed test: it measures and prints a table, the ratios Scoresby / GDAL CLI and the targets
(wall <= 0.5x the CLI, peak RSS <= 600 MiB, RSS on the 2x scene <= 1.2x the 1x scene, output bytes <= 1.1x
the CLI's), and writes the same as Markdown to bench-output/results.md.

    .venv/bin/python bench/run_bench.py [--runs N] [--skip-2x] [--keep] [--only gdal|scoresby]
        [--skip-s3] [--skip-small] [--skip-container] [--skip-estimate] [--skip-rehearsal] [--save-figures]

* Scene: scoresby/demo/fullsize.py (7,801 x 7,911 px, cached under bench-output/scenes/; the 2x scene: 1.414x
  the width and height).
* GDAL side: bench/gdal_baseline.py (Debian's gdal-bin 3.6 tools run one after the other; wall = sum of the
  commands, peak RSS = the largest command's).
* Scoresby side: `scoresby process '<scene json>' --output bench-output/scoresby --products
  true_color,false_color_ice,ndvi --run-name bench --overwrite` (COGs, quicklooks, histograms, STAC).
* Runs are interleaved (GDAL, Scoresby, GDAL, Scoresby, ...) so machine load hits both alike; the inputs
  are read once before timing so both start with a warm page cache. Medians of --runs runs are reported.
* Issue 14's parts in the same run: bench/s3_bench.py, bench/small_bench.py (200 small real scenes),
  bench/container_bench.py (the image's per-job overhead), bench/estimate_bench.py (1,000-scene backfill),
  bench/rehearsal_10k.py. The headline figures go to bench-output/figures.json and are compared with
  bench/previous_figures.json (bench/figures.py); --save-figures makes this run the new previous one.
* Peak RSS is ru_maxrss from os.wait4 of each command (Linux: KiB; covers the command and any children it
  waited for, as a maximum, not a sum), taken by the small launcher bench/_launch.py that forks the
  command: Linux keeps the RSS high-water mark across exec, so a command spawned straight from this
  harness would report at least the harness's own peak. As a cross-check the summed RSS of the command's
  process tree is also sampled every 0.1 s ("tree RSS"), which would catch parallel worker processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import (  # noqa: E402
    container_bench,
    estimate_bench,
    figures,
    gdal_baseline,
    rehearsal_10k,
    s3_bench,
    small_bench,
)
from scoresby.demo import fullsize as make_scene  # noqa: E402

OUT = REPO / "bench-output"
PRODUCTS = ("true_color", "false_color_ice", "ndvi")
VISUAL_PRODUCTS = ("true_color", "false_color_ice")
EXPECTED = {"true_color": (3, "uint8"), "false_color_ice": (3, "uint8"), "ndvi": (1, "float32")}
MiB = 2**20

TARGET_WALL = 0.5
TARGET_RSS_MIB = 600
TARGET_RSS_GROWTH = 1.2
TARGET_BYTES = 1.1


# ---------------------------------------------------------------------------------------------------------
# Measuring one child process
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    """One command: wall seconds, ru_maxrss (bytes), sampled tree RSS peak (bytes), exit code, output."""

    wall: float
    maxrss: int
    tree_rss: int
    rc: int
    stdout: str = ""
    stderr: str = ""


def _children_of(root: int) -> list[int]:
    """PIDs of `root` and all its descendants (from /proc)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
                parent[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        tree += frontier
    return tree


def _rss_bytes(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/status").open() as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


LAUNCHER = Path(__file__).resolve().parent / "_launch.py"


def measure(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run argv; return its wall time, ru_maxrss and the sampled peak RSS of its process tree.

    The command runs under bench/_launch.py, which forks it and reports the command's own os.wait4
    rusage and wall time: spawned directly from this (bigger) harness, its ru_maxrss would be at least
    the harness's peak RSS. The launcher itself (a few MiB) is left out of the sampled tree RSS.
    """
    out_f = (OUT / ".stdout.tmp").open("w+b")  # files, not pipes: no deadlock, no reader thread
    err_f = (OUT / ".stderr.tmp").open("w+b")
    report = OUT / ".rusage.json"
    report.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(LAUNCHER), str(report), *argv],
        stdout=out_f,
        stderr=err_f,
        env=env,
        cwd=cwd,
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            tree = _children_of(proc.pid)[1:]  # without the launcher
            peak[0] = max(peak[0], sum(_rss_bytes(p) for p in tree))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, _usage = os.wait4(proc.pid, 0)
    outer_wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out_f.seek(0)
    err_f.seek(0)
    stdout, stderr = out_f.read().decode(errors="replace"), err_f.read().decode(errors="replace")
    out_f.close()
    err_f.close()
    try:
        inner = json.loads(report.read_text())
        wall, maxrss = float(inner["wall_s"]), int(inner["maxrss_kib"]) * 1024
    except (OSError, ValueError, KeyError):  # launcher failed: fall back to the outer figures
        wall, maxrss = outer_wall, 0
    report.unlink(missing_ok=True)
    return Measured(wall, maxrss, peak[0] or maxrss, proc.returncode, stdout, stderr)


# ---------------------------------------------------------------------------------------------------------
# The two sides
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """One run of one side: totals plus the per-command details (GDAL) and the files written."""

    side: str
    wall: float
    maxrss: int
    tree_rss: int
    files: dict[str, int] = field(default_factory=dict)  # name -> bytes
    commands: list[tuple[str, float, int]] = field(default_factory=list)  # (name, wall, maxrss)
    error: str | None = None

    def bytes_of(self, *suffixes: str) -> int:
        return sum(n for name, n in self.files.items() if name.endswith(suffixes))


def _files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def run_gdal(scene: make_scene.GeneratedScene, out: Path, *, two_step: bool = False) -> tuple[RunResult, str]:
    """The GDAL CLI pipeline once; returns the result and the pipeline as a shell script."""
    shutil.rmtree(out, ignore_errors=True)
    tmp = out.parent / (out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    out.mkdir(parents=True)
    tmp.mkdir(parents=True)
    env = gdal_baseline.clean_env()
    state: dict = {}
    result = RunResult("gdal", 0.0, 0, 0)
    steps = gdal_baseline.steps(scene.bands, out, tmp, scene.scene_id, two_step=two_step)
    t0 = time.perf_counter()
    for step in steps:
        argv = step.argv(state) if callable(step.argv) else step.argv
        m = measure(argv, env=env)
        result.commands.append((step.name, m.wall, m.maxrss))
        result.maxrss = max(result.maxrss, m.maxrss)
        result.tree_rss = max(result.tree_rss, m.tree_rss)
        if m.rc != 0:
            result.error = f"{step.name} exited {m.rc}: {m.stderr.strip()[-500:]}"
            break
        if step.after:
            step.after(m.stdout, state)
    result.wall = time.perf_counter() - t0  # sum of the commands + the (tiny) cut-off arithmetic
    shutil.rmtree(tmp, ignore_errors=True)
    result.files = _files(out)
    return result, gdal_baseline.as_shell(steps, state)


def scoresby_exe() -> list[str]:
    exe = REPO / ".venv" / "bin" / "scoresby"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "scoresby.cli"]


def run_scoresby(scene: make_scene.GeneratedScene, out: Path) -> RunResult:
    """`scoresby process` once on the scene."""
    shutil.rmtree(out, ignore_errors=True)
    argv = [
        *scoresby_exe(),
        "process",
        json.dumps(scene.scene_object()),
        "--output",
        str(out),
        "--products",
        ",".join(PRODUCTS),
        "--run-name",
        "bench",
        "--overwrite",
    ]
    m = measure(argv, cwd=REPO)
    result = RunResult(
        "scoresby", m.wall, m.maxrss, m.tree_rss, commands=[("scoresby process", m.wall, m.maxrss)]
    )
    if m.rc != 0:
        tail = (m.stderr.strip() or m.stdout.strip()).splitlines()[-5:]
        result.error = f"scoresby process exited {m.rc}: " + " | ".join(tail)
    scene_out = out / "bench" / scene.scene_id
    result.files = _files(scene_out) if scene_out.exists() else {}
    return result


# ---------------------------------------------------------------------------------------------------------
# Sanity: both sides made the same kind of products
# ---------------------------------------------------------------------------------------------------------


def check_outputs(folder: Path, scene: make_scene.GeneratedScene, label: str) -> list[str]:
    """Problems with `<scene_id>_<product>.tif` in folder (band count, dtype, grid, quicklook PNG present)."""
    import numpy as np
    import rasterio

    problems: list[str] = []
    for product, (count, dtype) in EXPECTED.items():
        tif = folder / f"{scene.scene_id}_{product}.tif"
        if not tif.exists():
            problems.append(f"{label}: {tif.name} missing")
            continue
        try:
            with rasterio.open(tif) as ds:
                if ds.count != count or ds.dtypes[0] != dtype:
                    problems.append(
                        f"{label}: {tif.name} has {ds.count} x {ds.dtypes[0]}, want {count} x {dtype}"
                    )
                if (ds.width, ds.height) != (scene.params.width, scene.params.height):
                    problems.append(f"{label}: {tif.name} is {ds.width} x {ds.height}")
                if ds.crs is None or ds.crs.to_epsg() != scene.params.epsg:
                    problems.append(f"{label}: {tif.name} CRS {ds.crs}")
                small = ds.read(1, out_shape=(ds.height // 16, ds.width // 16), masked=True)
                if small.count() == 0 or np.ma.getmaskarray(small).all():
                    problems.append(f"{label}: {tif.name} has no valid pixels")
        except Exception as exc:  # noqa: BLE001 (report whatever does not open)
            problems.append(f"{label}: {tif.name} does not open: {exc}")
        if not (folder / f"{scene.scene_id}_{product}.png").exists():
            problems.append(f"{label}: quicklook {scene.scene_id}_{product}.png missing")
    return problems


def compare_outputs(gdal_dir: Path, scoresby_dir: Path, scene: make_scene.GeneratedScene) -> str:
    """Agreement of the two sides on 9 full-resolution 512 x 512 windows (edges and centre).

    NDVI values where both are valid, and for every product how many pixels' validity differs from the
    input footprint (B4 > 0; NDVI may also drop negative-reflectance pixels, so it is only compared
    side to side).
    """
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    sid = scene.scene_id
    width, height = scene.params.width, scene.params.height
    windows = [
        Window(
            max(0, min(width - 512, int(width * fx) - 256)),
            max(0, min(height - 512, int(height * fy) - 256)),
            512,
            512,
        )
        for fy in (0.06, 0.5, 0.94)
        for fx in (0.06, 0.5, 0.94)
    ]
    diffs, ndvi_valid, ndvi_mismatch = [], [0, 0], 0
    vis_mismatch = {"gdal": 0, "scoresby": 0}
    with rasterio.open(scene.bands[4]) as src:
        footprint = [src.read(1, window=w) > 0 for w in windows]
    n = sum(f.size for f in footprint)
    with (
        rasterio.open(gdal_dir / f"{sid}_ndvi.tif") as a,
        rasterio.open(scoresby_dir / f"{sid}_ndvi.tif") as b,
    ):
        for w in windows:
            x, y = a.read(1, window=w, masked=True), b.read(1, window=w, masked=True)
            va, vb = ~np.ma.getmaskarray(x), ~np.ma.getmaskarray(y)
            ndvi_valid[0] += int(va.sum())
            ndvi_valid[1] += int(vb.sum())
            ndvi_mismatch += int((va != vb).sum())
            both = va & vb
            if both.any():
                diffs.append(np.abs(x.data[both].astype(np.float64) - y.data[both]))
    for product in VISUAL_PRODUCTS:
        for side, folder in (("gdal", gdal_dir), ("scoresby", scoresby_dir)):
            with rasterio.open(folder / f"{sid}_{product}.tif") as ds:
                for w, fp in zip(windows, footprint, strict=True):
                    vis_mismatch[side] += int(((ds.dataset_mask(window=w) > 0) != fp).sum())
    d = np.concatenate(diffs) if diffs else np.array([np.nan])
    return (
        f"output check on 9 full-resolution 512 x 512 windows ({n:,} px): "
        f"NDVI valid px GDAL {ndvi_valid[0]:,}, "
        f"Scoresby {ndvi_valid[1]:,}, validity differs on {ndvi_mismatch:,} px; |NDVI difference| where both "
        f"valid: mean {d.mean():.2e}, max {d.max():.2e}; visual products' valid mask differs from the input "
        f"footprint on {vis_mismatch['gdal']:,} px (GDAL CLI) and {vis_mismatch['scoresby']:,} px (Scoresby)"
    )


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _mib(n: float) -> str:
    return f"{n / MiB:,.1f}" if n == n else "n/a"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB RAM, {platform.platform()}"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        load = os.getloadavg()
        return f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"


def gdal_versions() -> str:
    try:
        cli = subprocess.run(
            ["gdalinfo", "--version"],
            capture_output=True,
            text=True,
            check=False,
            env=gdal_baseline.clean_env(),
        ).stdout.strip()
    except OSError:
        cli = "not installed"
    try:
        import rasterio

        bundled = f"rasterio {rasterio.__version__} / GDAL {rasterio.__gdal_version__}"
    except ImportError:
        bundled = "rasterio not importable"
    return f"CLI: {cli}; Scoresby: {bundled}"


def build_report(
    res: dict[str, list[RunResult]],
    res2x: list[RunResult],
    scene,
    scene2x,
    notes: list[str],
    loads: list[str],
    runs: int,
    extra_rows: list[str] | None = None,
) -> str:
    g, s = res.get("gdal", []), res.get("scoresby", [])
    g_ok = [r for r in g if not r.error]
    s_ok = [r for r in s if not r.error]
    s2_ok = [r for r in (res2x or []) if not r.error]

    def row(label: str, rs: list[RunResult]) -> str:
        if not rs:
            return f"| {label} | n/a | n/a | n/a | n/a | n/a | n/a |"
        walls = [r.wall for r in rs]
        cog, png = _med([r.bytes_of(".tif") for r in rs]), _med([r.bytes_of(".png") for r in rs])
        both = _med([r.bytes_of(".tif", ".png") for r in rs])
        return (
            f"| {label} | {_med(walls):.1f} ({', '.join(f'{w:.1f}' for w in walls)}) "
            f"| {_mib(_med([r.maxrss for r in rs]))} | {_mib(_med([r.tree_rss for r in rs]))} "
            f"| {_mib(cog)} | {_mib(png)} | {_mib(both)} |"
        )

    lines = [
        "# Scoresby benchmark results",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine()}",
        f"- {gdal_versions()}",
        f"- scene: {scene.scene_id}, {scene.params.width} x {scene.params.height} px, 6 bands uint16 "
        f"(synthetic, scoresby/demo/fullsize.py)"
        + (f"; 2x scene {scene2x.params.width} x {scene2x.params.height} px" if scene2x else ""),
        f"- runs: {runs} per side, interleaved GDAL/Scoresby; medians (individual wall times in brackets)",
        "- load (uptime) during the runs:",
        *[f"  - {x}" for x in loads],
        "",
        "| side | wall s | peak RSS MiB (ru_maxrss) | tree RSS MiB (sampled) "
        "| COG MiB | PNG MiB | COG+PNG MiB |",
        "|---|---|---|---|---|---|---|",
        row("GDAL CLI (sum of commands; RSS = largest command)", g_ok),
        row("Scoresby `process`", s_ok),
    ]
    if res2x is not None and scene2x:
        lines.append(
            row(f"Scoresby `process`, 2x scene ({scene2x.params.width} x {scene2x.params.height})", s2_ok)
        )
    lines.append("")

    ratios: list[tuple[str, str, str, str]] = []
    if g_ok and s_ok:
        t = _med([r.wall for r in s_ok]) / _med([r.wall for r in g_ok])
        rss = _med([r.maxrss for r in s_ok]) / _med([r.maxrss for r in g_ok])
        by = _med([r.bytes_of(".tif", ".png") for r in s_ok]) / _med(
            [r.bytes_of(".tif", ".png") for r in g_ok]
        )
        cog = _med([r.bytes_of(".tif") for r in s_ok]) / _med([r.bytes_of(".tif") for r in g_ok])
        ratios += [
            ("wall time Scoresby / GDAL CLI", f"{t:.2f}x", f"<= {TARGET_WALL}x", _verdict(t <= TARGET_WALL)),
            ("peak RSS Scoresby / GDAL CLI (largest command)", f"{rss:.2f}x", "(info)", ""),
            (
                "output bytes (COG+PNG) Scoresby / GDAL CLI",
                f"{by:.2f}x",
                f"<= {TARGET_BYTES}x",
                _verdict(by <= TARGET_BYTES),
            ),
            ("COG bytes only, Scoresby / GDAL CLI", f"{cog:.2f}x", "(info)", ""),
        ]
    else:
        ratios += [
            ("wall time Scoresby / GDAL CLI", "n/a", f"<= {TARGET_WALL}x", "n/a"),
            ("output bytes (COG+PNG) Scoresby / GDAL CLI", "n/a", f"<= {TARGET_BYTES}x", "n/a"),
        ]
    if s_ok:
        peak = _med([r.maxrss for r in s_ok]) / MiB
        ratios.append(
            (
                "Scoresby peak RSS (1x scene)",
                f"{peak:.0f} MiB",
                f"<= {TARGET_RSS_MIB} MiB",
                _verdict(peak <= TARGET_RSS_MIB),
            )
        )
    else:
        ratios.append(("Scoresby peak RSS (1x scene)", "n/a", f"<= {TARGET_RSS_MIB} MiB", "n/a"))
    if s_ok and s2_ok:
        growth = _med([r.maxrss for r in s2_ok]) / _med([r.maxrss for r in s_ok])
        ratios.append(
            (
                "Scoresby peak RSS 2x scene / 1x scene",
                f"{growth:.2f}x",
                f"<= {TARGET_RSS_GROWTH}x",
                _verdict(growth <= TARGET_RSS_GROWTH),
            )
        )
    else:
        ratios.append(
            (
                "Scoresby peak RSS 2x scene / 1x scene",
                "n/a",
                f"<= {TARGET_RSS_GROWTH}x",
                "n/a (skipped)" if scene2x is None else "n/a",
            )
        )
    lines += ["| ratio / figure | measured | target | verdict |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in ratios]
    lines += extra_rows or []  # issue 14's parts (S3 reads, small scenes), measured in the same run

    if g_ok:
        lines += [
            "",
            "GDAL CLI commands (median wall s / median ru_maxrss MiB over the runs):",
            "",
            "| command | wall s | peak RSS MiB |",
            "|---|---|---|",
        ]
        for i, (name, _, _) in enumerate(g_ok[0].commands):
            lines.append(
                f"| {name} | {_med([r.commands[i][1] for r in g_ok]):.2f} "
                f"| {_mib(_med([r.commands[i][2] for r in g_ok]))} |"
            )
    files = s_ok[-1].files if s_ok else {}
    if files:
        lines += [
            "",
            "Scoresby files (last run): " + ", ".join(f"{k} {v / MiB:.1f} MiB" for k, v in files.items()),
        ]
    if g_ok:
        lines += [
            "",
            "GDAL CLI files (last run): "
            + ", ".join(f"{k} {v / MiB:.1f} MiB" for k, v in g_ok[-1].files.items()),
        ]
    errors = [f"{r.side}: {r.error}" for r in [*g, *s, *(res2x or [])] if r.error]
    if notes or errors:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in [*notes, *errors]]
    return "\n".join(lines) + "\n"


def full_scene_figures(res: dict[str, list[RunResult]], res2x: list[RunResult] | None) -> figures.Figures:
    """The full-scene headline figures (medians of the runs without errors) for figures.json."""
    figs: figures.Figures = {}
    g = [r for r in res.get("gdal", []) if not r.error]
    s = [r for r in res.get("scoresby", []) if not r.error]
    s2 = [r for r in (res2x or []) if not r.error]
    if s:
        figs["full_scene_scoresby_wall_s"] = (_med([r.wall for r in s]), "s")
        figs["full_scene_scoresby_peak_rss_mib"] = (_med([r.maxrss for r in s]) / MiB, "MiB")
    if g:
        figs["full_scene_gdal_cli_wall_s"] = (_med([r.wall for r in g]), "s")
    if g and s:
        figs["full_scene_wall_scoresby_over_gdal"] = (
            _med([r.wall for r in s]) / _med([r.wall for r in g]),
            "x",
        )
        figs["full_scene_bytes_scoresby_over_gdal"] = (
            _med([r.bytes_of(".tif", ".png") for r in s]) / _med([r.bytes_of(".tif", ".png") for r in g]),
            "x",
        )
    if s2:
        figs["scene_2x_scoresby_wall_s"] = (_med([r.wall for r in s2]), "s")
        if s:
            figs["scene_2x_over_1x_peak_rss"] = (
                _med([r.maxrss for r in s2]) / _med([r.maxrss for r in s]),
                "x",
            )
    return figs


def s3_figures(fig: dict) -> figures.Figures:
    """The S3 part's headline figures for figures.json."""
    if "error" in fig:
        return {}
    return {
        "s3_bytes_read_over_band_bytes": (fig["bytes_ratio"], "x"),
        "s3_gets_per_mib": (fig["gets_per_mib"], "GETs per MiB"),
        "s3_wall_s": (fig["wall_s"], "s"),
        "s3_latency_wall_ratio": (fig["latency_ratio"], "x"),
    }


# ---------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------


def warm(scene: make_scene.GeneratedScene) -> None:
    """Read the inputs once so both sides start with them in the page cache."""
    for p in [*scene.bands.values(), scene.mtl]:
        with p.open("rb") as f:
            while f.read(16 * MiB):
                pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per side (median reported; default 3)")
    ap.add_argument("--skip-2x", action="store_true", help="skip the 2x-pixel scene (RSS growth check)")
    ap.add_argument("--keep", action="store_true", help="keep the last run's outputs under bench-output/")
    ap.add_argument("--only", choices=("gdal", "scoresby"), help="run one side only")
    ap.add_argument(
        "--gdal-two-step",
        action="store_true",
        help="baseline visuals via a temporary GTiff then COG (faster than -of COG from the scaled VRT)",
    )
    ap.add_argument("--scale", type=float, default=1.0, help="scene scale per axis (default 1: full size)")
    ap.add_argument("--skip-s3", action="store_true", help="skip the full scene read from moto's S3")
    ap.add_argument("--skip-small", action="store_true", help="skip the small-scene fixed cost, before/after")
    ap.add_argument(
        "--skip-rehearsal", action="store_true", help="skip the 10,000-scene rehearsal under moto"
    )
    ap.add_argument(
        "--skip-container", action="store_true", help="skip the worker image's per-job overhead (docker)"
    )
    ap.add_argument("--skip-estimate", action="store_true", help="skip the 1,000-scene backfill estimate")
    ap.add_argument(
        "--save-figures",
        action="store_true",
        help=f"write this run's figures to bench/{figures.PREVIOUS.name} (what the next runs compare with)",
    )
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    log = print

    notes: list[str] = []
    sides = [args.only] if args.only else ["gdal", "scoresby"]
    if "gdal" in sides and (missing := gdal_baseline.missing_tools()):
        msg = (
            f"The GDAL command-line baseline needs Debian's gdal-bin and python3-gdal (missing: "
            f"{', '.join(missing)}). `make bench` installs them; by hand: "
            f"sudo apt-get install -y gdal-bin python3-gdal. Running the Scoresby side only."
        )
        print("\n*** " + msg + "\n", file=sys.stderr)
        notes.append(msg)
        sides.remove("gdal")

    scene = make_scene.ensure_scene(make_scene.params_for(args.scale), log=log)
    log(
        f"scene: {scene.folder}" + (" (cached)" if scene.reused else f" (generated in {scene.seconds:.0f} s)")
    )
    warm(scene)

    res: dict[str, list[RunResult]] = {s: [] for s in sides}
    loads = [f"before: {uptime()}"]
    last_script = ""
    for i in range(args.runs):
        for side in sides:
            folder = OUT / side
            if side == "gdal":
                r, last_script = run_gdal(scene, folder, two_step=args.gdal_two_step)
            else:
                r = run_scoresby(scene, folder)
            res[side].append(r)
            log(
                f"run {i + 1}/{args.runs} {side:8s}: {r.wall:7.1f} s, peak RSS {r.maxrss / MiB:7.1f} MiB, "
                f"tree {r.tree_rss / MiB:7.1f} MiB, COG+PNG {r.bytes_of('.tif', '.png') / MiB:6.1f} MiB"
                + (f"  ERROR {r.error}" if r.error else "")
            )
        loads.append(f"after run {i + 1}: {uptime()}")
    if last_script:
        (OUT / "gdal_baseline_commands.sh").write_text(last_script)
        notes.append("the exact GDAL commands of the last run: bench-output/gdal_baseline_commands.sh")

    # Sanity checks on the last run's outputs (before they are deleted).
    gdal_dir, s_dir = OUT / "gdal", OUT / "scoresby" / "bench" / scene.scene_id
    problems: list[str] = []
    if res.get("gdal") and not res["gdal"][-1].error:
        problems += check_outputs(gdal_dir, scene, "GDAL CLI")
    if res.get("scoresby") and not res["scoresby"][-1].error:
        problems += check_outputs(s_dir, scene, "Scoresby")
    if (
        not problems
        and res.get("gdal")
        and res.get("scoresby")
        and not res["gdal"][-1].error
        and not res["scoresby"][-1].error
    ):
        try:
            notes.append(compare_outputs(gdal_dir, s_dir, scene))
        except Exception as exc:  # noqa: BLE001
            notes.append(f"output comparison failed: {exc}")
    notes += [f"SANITY: {p}" for p in problems] or (
        ["sanity: every product opens with the expected band count, dtype, size and CRS on the side(s) run"]
        if any(r and not r[-1].error for r in res.values())
        else []
    )

    res2x: list[RunResult] | None = None
    scene2x = None
    if not args.skip_2x and "scoresby" in sides:
        scene2x = make_scene.ensure_scene(make_scene.params_for(args.scale * 1.414), log=log)
        warm(scene2x)
        res2x = []
        for i in range(args.runs):
            r = run_scoresby(scene2x, OUT / "scoresby-2x")
            res2x.append(r)
            log(
                f"run {i + 1}/{args.runs} scoresby 2x: {r.wall:7.1f} s, peak RSS {r.maxrss / MiB:7.1f} MiB, "
                f"tree {r.tree_rss / MiB:7.1f} MiB" + (f"  ERROR {r.error}" if r.error else "")
            )
        loads.append(f"after the 2x runs: {uptime()}")
        if res2x and not res2x[-1].error:
            s2_dir = OUT / "scoresby-2x" / "bench" / scene2x.scene_id
            problems2 = check_outputs(s2_dir, scene2x, "Scoresby 2x")
            notes += [f"SANITY: {p}" for p in problems2] or [
                "sanity: the 2x scene's products open with the expected bands, dtype, size and CRS"
            ]

    extra_rows: list[str] = []
    figs = full_scene_figures(res, res2x)
    if not args.skip_s3 and "scoresby" in sides:
        s3 = s3_bench.measure(scene, runs=max(1, min(args.runs, 2)), delay_ms=s3_bench.DELAY_MS, log=log)
        extra_rows += s3_bench.report_lines(s3)
        figs.update(s3_figures(s3))
        notes.append(s3_bench.NOTE)
        loads.append(f"after the S3 runs: {uptime()}")
    if not args.skip_small and "scoresby" in sides:
        small = small_bench.measure(runs=max(1, min(args.runs, 2)), log=log)
        extra_rows += small_bench.report_lines(small)
        figs.update(small_bench.figures(small))
        notes.append(small_bench.NOTE)
        loads.append(f"after the small-scene runs: {uptime()}")
    if not args.skip_container and "scoresby" in sides:
        box = container_bench.measure(runs=max(3, 2 * args.runs - 1), log=log)
        if "error" in box:  # said once here and once in the table; the rest of the bench goes on
            print(f"\n*** container part skipped: {box['error']}\n", file=sys.stderr)
        extra_rows += container_bench.report_lines(box)
        figs.update(container_bench.figures(box))
        notes.append(container_bench.NOTE)
        loads.append(f"after the container runs: {uptime()}")
    if not args.skip_estimate:
        est = estimate_bench.measure()
        extra_rows += estimate_bench.report_lines(est)
        figs.update(estimate_bench.figures(est))
        notes.append(estimate_bench.NOTE)
    if not args.skip_rehearsal:
        rehearsal = rehearsal_10k.rehearse(10_000, log=log)
        extra_rows += rehearsal_10k.report_lines(rehearsal)
        figs["rehearsal_10k_init_s"] = (rehearsal["init_s"], "s (moto)")
        figs["rehearsal_10k_summary_s"] = (rehearsal["summary_s"], "s (moto)")
        notes.append(rehearsal_10k.NOTE)

    notes.insert(
        0,
        "GDAL baseline: "
        + (
            "two-step visuals (scaled VRT -> tiled GTiff -> COG), --gdal-two-step"
            if args.gdal_two_step
            else "visuals straight from the scaled VRT with gdal_translate -of COG (as in the brief)"
        ),
    )
    now = figures.document(
        figs,
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(),
        load=f"{loads[0]} ... {loads[-1]}",
    )
    figures.write(now, OUT / "figures.json")
    report = build_report(res, res2x, scene, scene2x, notes, loads, args.runs, extra_rows)
    report += "\n".join(figures.comparison_lines(now, figures.load())) + "\n"
    if args.save_figures:
        figures.write(now, figures.PREVIOUS)
        report += f"\n(this run's figures saved to bench/{figures.PREVIOUS.name})\n"
    (OUT / "results.md").write_text(report)
    print()
    print(report)
    print(f"(written to {OUT / 'results.md'})")

    if not args.keep:
        for name in ("gdal", "scoresby", "scoresby-2x", "s3-scoresby"):
            shutil.rmtree(OUT / name, ignore_errors=True)
    for tmp in (OUT / ".stdout.tmp", OUT / ".stderr.tmp", OUT / ".rusage.json"):
        tmp.unlink(missing_ok=True)
    return 2 if "gdal" not in sides and not args.only else 0


if __name__ == "__main__":
    sys.exit(main())
