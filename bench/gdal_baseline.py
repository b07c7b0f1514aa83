"""The GDAL command-line baseline: what a skilled user would type to make the same products.

Debian's GDAL command-line tools (gdal-bin 3.6 + python3-gdal for gdal_calc.py), run one after the other:

1. `gdalinfo -hist -json` of each input band the visuals use (B2, B3, B4, B5, B7; B3 once), with PAM disabled
   so no .aux.xml is written next to the inputs and every run pays for its own statistics. The 2 % / 98 %
   cut-offs are read off each band's 256-bucket histogram (nodata excluded by GDAL), interpolating
   linearly inside the bucket.
2. true_color (B4,B3,B2) and false_color_ice (B7,B5,B3): `gdalbuildvrt -separate`, then
   `gdal_translate -scale_i lo hi 1 255 -exponent_i 1 -ot Byte -a_nodata 0 -of COG`.
   `-exponent 1` is needed: without it gdal_translate does not clip, so every pixel darker than the 2 %
   cut-off wraps to 0 and becomes nodata (checked on GDAL 3.6).
3. ndvi: `gdal_calc.py` on reflectance (DN x 2.75e-05 - 0.2), nodata -9999 where an input is nodata (gdal_calc
   honours the inputs' nodata) or its reflectance is negative, Float32. gdal_calc 3.6 cannot write a COG
   directly (the COG driver has no Create()), so it writes a tiled, uncompressed temporary GTiff that
   `gdal_translate -of COG` then converts.
4. quicklooks: `gdal_translate -of PNG -outsize 1024 0` of each COG (NDVI scaled -1..1 to 1..255 Byte).

Every COG uses `-co COMPRESS=DEFLATE -co PREDICTOR=YES -co NUM_THREADS=ALL_CPUS` and every command
`--config GDAL_NUM_THREADS ALL_CPUS` (the best flags a skilled user would pass; PREDICTOR=YES makes the CLI
outputs smaller, i.e. the byte comparison is against a strong baseline). Overviews: the COG driver's default.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

L2_MULT = 2.75e-05
L2_ADD = -0.2
VISUALS = {"true_color": (4, 3, 2), "false_color_ice": (7, 5, 3)}
PERCENTILES = (2.0, 98.0)
COG_CO = ["-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=YES", "-co", "NUM_THREADS=ALL_CPUS"]
THREADS = ["--config", "GDAL_NUM_THREADS", "ALL_CPUS"]
TOOLS = ("gdalinfo", "gdalbuildvrt", "gdal_translate")


@dataclass
class Step:
    """One command of the pipeline; `after` turns its stdout into state for later steps (e.g. cut-offs)."""

    name: str
    argv: list[str] | Callable[[dict], list[str]]
    after: Callable[[str, dict], None] | None = None
    outputs: list[Path] = field(default_factory=list)


def find_gdal_calc() -> str | None:
    """gdal_calc.py (Debian 12 installs it as /usr/bin/gdal_calc.py, #!/usr/bin/python3), else gdal_calc."""
    path = os.pathsep.join(["/usr/bin", os.environ.get("PATH", "")])
    return shutil.which("gdal_calc.py", path=path) or shutil.which("gdal_calc", path=path)


def missing_tools() -> list[str]:
    """Names of the command-line tools the baseline needs that are not installed."""
    path = os.pathsep.join(["/usr/bin", os.environ.get("PATH", "")])
    missing = [t for t in TOOLS if not shutil.which(t, path=path)]
    if not find_gdal_calc():
        missing.append("gdal_calc.py (python3-gdal)")
    return missing


def clean_env() -> dict[str, str]:
    """Environment for Debian's tools: no venv, no rasterio-bundled GDAL/PROJ data paths, no PYTHONPATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "GDAL_DATA",
            "PROJ_LIB",
            "PROJ_DATA",
            "PYTHONPATH",
            "PYTHONHOME",
            "VIRTUAL_ENV",
            "GDAL_DRIVER_PATH",
        }
    }
    env["PATH"] = os.pathsep.join(["/usr/bin", "/bin", env.get("PATH", "")])
    return env


def percentile_from_histogram(hist: dict, pct: float) -> float:
    """The `pct` percentile from a gdalinfo -json histogram (min, max, count, buckets)."""
    buckets = hist["buckets"]
    lo, hi = float(hist["min"]), float(hist["max"])
    width = (hi - lo) / len(buckets)
    total = sum(buckets)
    target = total * pct / 100.0
    acc = 0.0
    for i, n in enumerate(buckets):
        if n and acc + n >= target:
            return lo + width * (i + (target - acc) / n)
        acc += n
    return hi


def steps(
    bands: dict[int, Path], out: Path, tmp: Path, scene_id: str, *, two_step: bool = False
) -> list[Step]:
    """The baseline commands for one scene, writing `<scene_id>_<product>.tif/.png` into `out`.

    two_step: make each visual as a tiled temporary GTiff first and convert that to COG, instead of
    `-of COG` straight from the scaled VRT (the COG driver then evaluates the VRT twice: once for the
    overviews, once for the full resolution; the two-step form was ~1.5x faster for these steps).
    """
    gdal_calc = find_gdal_calc() or "gdal_calc.py"
    result: list[Step] = []

    def keep_cutoffs(band: int) -> Callable[[str, dict], None]:
        def after(stdout: str, state: dict) -> None:
            hist = json.loads(stdout)["bands"][0]["histogram"]
            state[band] = tuple(percentile_from_histogram(hist, p) for p in PERCENTILES)

        return after

    for b in sorted({b for bs in VISUALS.values() for b in bs}):
        result.append(
            Step(
                f"gdalinfo -hist B{b}",
                ["gdalinfo", "-hist", "-json", "--config", "GDAL_PAM_ENABLED", "NO", str(bands[b])],
                after=keep_cutoffs(b),
            )
        )

    for product, bs in VISUALS.items():
        vrt = tmp / f"{product}.vrt"
        cog = out / f"{scene_id}_{product}.tif"
        result.append(
            Step(
                f"gdalbuildvrt {product}",
                ["gdalbuildvrt", "-q", "-separate", str(vrt), *[str(bands[b]) for b in bs]],
            )
        )

        scaled = tmp / f"{product}_scaled.tif" if two_step else cog

        def translate(state: dict, bs=bs, vrt=vrt, dst=scaled) -> list[str]:
            scale: list[str] = []
            for i, b in enumerate(bs, start=1):
                lo, hi = state[b]
                scale += [f"-scale_{i}", f"{lo:.1f}", f"{hi:.1f}", "1", "255", f"-exponent_{i}", "1"]
            return [
                "gdal_translate",
                "-q",
                *THREADS,
                *scale,
                "-ot",
                "Byte",
                "-a_nodata",
                "0",
                *(["-co", "TILED=YES"] if two_step else ["-of", "COG", *COG_CO]),
                str(vrt),
                str(dst),
            ]

        result.append(Step(f"gdal_translate {product}", translate, outputs=[scaled]))
        if two_step:
            result.append(
                Step(
                    f"gdal_translate {product} -> COG",
                    ["gdal_translate", "-q", *THREADS, "-of", "COG", *COG_CO, str(scaled), str(cog)],
                    outputs=[cog],
                )
            )

    r5 = f"(A*{L2_MULT}{L2_ADD:+})"
    r4 = f"(B*{L2_MULT}{L2_ADD:+})"
    calc = f"where(({r5}<0)|({r4}<0),-9999,({r5}-{r4})/({r5}+{r4}))"
    ndvi_tmp = tmp / "ndvi_tmp.tif"
    ndvi = out / f"{scene_id}_ndvi.tif"
    result.append(
        Step(
            "gdal_calc.py ndvi",
            [
                gdal_calc,
                "--quiet",
                "-A",
                str(bands[5]),
                "-B",
                str(bands[4]),
                f"--calc={calc}",
                "--type",
                "Float32",
                "--NoDataValue",
                "-9999",
                "--format",
                "GTiff",
                "--co",
                "TILED=YES",
                "--co",
                "BLOCKXSIZE=512",
                "--co",
                "BLOCKYSIZE=512",
                "--overwrite",
                "--outfile",
                str(ndvi_tmp),
            ],
        )
    )
    result.append(
        Step(
            "gdal_translate ndvi",
            ["gdal_translate", "-q", *THREADS, "-of", "COG", *COG_CO, str(ndvi_tmp), str(ndvi)],
            outputs=[ndvi],
        )
    )

    for product in [*VISUALS, "ndvi"]:
        cog = out / f"{scene_id}_{product}.tif"
        png = out / f"{scene_id}_{product}.png"
        extra = (
            ["-ot", "Byte", "-scale", "-1", "1", "1", "255", "-a_nodata", "0"] if product == "ndvi" else []
        )
        result.append(
            Step(
                f"quicklook {product}",
                [
                    "gdal_translate",
                    "-q",
                    *THREADS,
                    "-of",
                    "PNG",
                    "-outsize",
                    "1024",
                    "0",
                    *extra,
                    str(cog),
                    str(png),
                ],
                outputs=[png],
            )
        )
    return result


def as_shell(step_list: list[Step], state: dict) -> str:
    """The pipeline as a shell script (with the cut-offs of the last run filled in), for reading."""
    import shlex

    lines = [
        "#!/bin/sh",
        "# GDAL CLI baseline as run by bench/run_bench.py (cut-offs from the last run)",
        "set -e",
    ]
    for s in step_list:
        argv = s.argv(state) if callable(s.argv) else s.argv
        lines.append(shlex.join(argv) + ("  # -> 2/98 % cut-offs" if s.after else ""))
    return "\n".join(lines) + "\n"
