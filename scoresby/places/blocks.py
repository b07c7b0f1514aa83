"""Blocks of the AOI worked in BLOCK_THREADS threads and written in order by the calling thread.

Reading (GDAL) and the numpy work (sorts, arithmetic) release the GIL, so two threads use two cores.
Each thread opens its own datasets and closes them itself: a rasterio dataset belongs to the thread that
opened it. A thread takes a slot before it takes a block, so blocks start in order and at most
BLOCK_THREADS + 1 blocks' results exist at once: memory is bounded by a few blocks.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import rasterio
from rasterio.windows import Window

from scoresby.pricing.cost import WORKER_THREADS
from scoresby.raster.bands import gdal_options

BLOCK_THREADS = WORKER_THREADS
"""Blocks worked on at once."""
PROGRESS_EVERY_S = 30.0
"""A labelled run of blocks logs how far it is at most this often (as a run's progress lines do): work
shorter than this says nothing more, and a Scoresby Sund composite of minutes says where it is."""
log = logging.getLogger(__name__)
PLACE_GDAL_CACHEMAX = 16 * 1024 * 1024
"""GDAL's block cache for place products: blocks read each file's window whole (512 px, as the COG tiles),
so decoded tiles are seldom read again and a larger cache only adds to the peak memory."""
COMPOSE_MMAP_THRESHOLD = 256 * 1024
"""Composites: arrays of this size or more get their own mmap, given back to the system when freed.

Kept at 256 KiB: at 1 MiB a fresh process's composite faulted 0.12 M pages instead of 0.34 M (the add's
composite 4.0 against 4.2 s), but a composite tile job's peak grew from 322 to 396 MiB (2,048 px) and from 336
to 428 MiB (4,096 px), the arrays of 0.25-1 MiB fragmenting the heaps. A part's DN and role stacks, a few MiB,
are each thread's own reused arrays instead (held.scratch)."""
TREND_MMAP_THRESHOLD = 32 * 1024 * 1024
"""The trend: its (pixels, pairs) chunks (8 MB) are reused from the heap (mmapping each cost 30-45 %, and
trimming the heap after each chunk 60 %)."""
HEAP_TOP_PAD = 32 * 1024 * 1024
"""Free memory each heap keeps at its top when it grows or is trimmed (glibc's default: 128 KiB).

An array of COMPOSE_MMAP_THRESHOLD or more is carved from the top of its thread's heap when there is room,
else mmapped afresh and its pages faulted in on first touch (3-4 us a fault on these VMs). A process's first
composite, with small heaps, took 0.84 M faults and 4.0 s against 0.42 M and 2.9 s for the next one; with
this pad 0.45 M and 2.9 s. The like-with-like peak grew 6-7 MiB at 2,000 px, 13 MiB at 4,000 px."""


def place_gdal_options(read_options: Mapping[str, str] | None = None) -> dict[str, Any]:
    """GDAL configuration for place products: the scenes' read options and PLACE_GDAL_CACHEMAX."""
    options = gdal_options(read_options or {})
    if "GDAL_CACHEMAX" not in (read_options or {}):
        options["GDAL_CACHEMAX"] = PLACE_GDAL_CACHEMAX
    return options


def steady_malloc(threshold: int) -> bool:
    """Fix glibc's mmap and trim thresholds (mallopt, process-wide) at `threshold`, its top pad at
    HEAP_TOP_PAD; True when set.

    glibc raises the mmap threshold to the size of each large block freed, so the composites' arrays of a
    few MiB then come from per-thread heaps that fragment and keep their pages: 50-100 MiB of the peak
    memory. Fixing it also fixes the trim threshold at its 128 KiB default, so a freed array at the top of a
    heap went back to the system and the next chunk's array faulted its pages in again (the trend: 2.4x
    slower); the trim threshold follows the mmap threshold instead, so arrays below it are reused.
    """
    libc = _libc()
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    return bool(
        libc is not None
        and libc.mallopt(m_mmap_threshold, threshold)
        and libc.mallopt(m_trim_threshold, threshold)
        and libc.mallopt(m_top_pad, HEAP_TOP_PAD)
    )


@functools.cache
def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return None


T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class BlockWork(Protocol[T_co]):
    """What the threads run: `block(window)` for each block, then `close_thread()` in each thread."""

    def block(self, window: Window) -> T_co:
        """The result of one block."""
        ...

    def close_thread(self) -> None:
        """Close what this thread opened."""
        ...


class _Results(Generic[T]):
    def __init__(self) -> None:
        self.done: dict[int, T] = {}
        self.errors: list[BaseException] = []
        self.cond = threading.Condition()


def run_blocks(
    work: BlockWork[T],
    windows: Sequence[Window],
    write: Callable[[T], None],
    gdal_env: Mapping[str, str] | None = None,
    label: str = "",
) -> None:
    """`work.block` over the windows in the threads; `write` of each result here, in window order.

    With a `label`, a line every PROGRESS_EVERY_S says how many blocks are written.
    """
    todo: queue.SimpleQueue[tuple[int, Window]] = queue.SimpleQueue()
    for item in enumerate(windows):
        todo.put(item)
    results: _Results[T] = _Results()
    slots = threading.Semaphore(BLOCK_THREADS + 1)
    stop = threading.Event()

    def worker() -> None:
        env = rasterio.Env(**place_gdal_options(gdal_env))
        env.__enter__()
        try:
            while not stop.is_set():
                slots.acquire()
                try:
                    i, window = todo.get_nowait()
                except queue.Empty:
                    slots.release()
                    return
                out = work.block(window)
                with results.cond:
                    results.done[i] = out
                    results.cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread, which raises it
            with results.cond:
                results.errors.append(exc)
                results.cond.notify_all()
        finally:
            work.close_thread()
            env.__exit__()

    threads = [threading.Thread(target=worker, name=f"scoresby-place-{n}") for n in range(BLOCK_THREADS)]
    for t in threads:
        t.start()
    started = last = time.monotonic()
    try:
        for i in range(len(windows)):

            def ready(i: int = i) -> bool:
                return i in results.done or bool(results.errors)

            with results.cond:
                results.cond.wait_for(ready)
                if results.errors:
                    raise results.errors[0]
                done = results.done.pop(i)
            write(done)
            slots.release()
            now = time.monotonic()
            if label and now - last >= PROGRESS_EVERY_S:
                last = now
                log.info(
                    "%s: %d of %d blocks (%.0f %%), %.0f s",
                    label,
                    i + 1,
                    len(windows),
                    100.0 * (i + 1) / len(windows),
                    now - started,
                )
    finally:
        stop.set()
        for _ in threads:
            slots.release()  # wake any thread waiting for a slot so it sees `stop`
        for t in threads:
            t.join()
