"""Progress of a run: tqdm's bar on a terminal; plain lines (every 5 % or 30 s) for logs (cron, Batch, CI)."""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import IO, Any

from tqdm import tqdm
from tqdm.auto import tqdm as tqdm_auto

LINE_EVERY_FRACTION = 0.05
LINE_EVERY_S = 30.0


class LineProgress(tqdm):  # type: ignore[type-arg]
    """tqdm's counting with a plain line instead of a redrawn bar: every 5 % done or every 30 s.

    A line says counts, percent, rate and the postfix (the status counts), so a log of 10,000 scenes has
    about 20 lines plus one per 30 s, never carriage returns.
    """

    def __init__(self, *args: Any, every_s: float = LINE_EVERY_S, **kwargs: Any) -> None:
        self._line_lock = threading.Lock()
        self._last_n: int | None = None
        self._last_t = time.monotonic()
        self._every_s = every_s
        self._stop = threading.Event()
        kwargs["mininterval"] = 0  # every update reaches display(), which decides
        super().__init__(*args, **kwargs)
        if not self.disable:
            self._ticker = threading.Thread(target=self._tick, name="progress-lines", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(min(self._every_s, 1.0)):
            if time.monotonic() - self._last_t >= self._every_s:
                self.display()

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Write a line when 5 % more is done, the run ended, or 30 s passed since the last line."""
        with self._line_lock:
            n, total = self.n, self.total
            now = time.monotonic()
            step = max(1, math.ceil((total or 0) * LINE_EVERY_FRACTION))
            due = (
                self._last_n is None
                or (total is not None and n >= total and n != self._last_n)
                or n - self._last_n >= step
                or now - self._last_t >= self._every_s
            )
            if not due:
                return True
            self._last_n, self._last_t = n, now
            fmt = self.format_dict
            rate = fmt.get("rate") or (n - self.initial) / fmt["elapsed"] if fmt.get("elapsed") else 0.0
            percent = f" ({100 * n / total:.0f} %)" if total else ""
            postfix = f", {fmt['postfix']}" if fmt.get("postfix") else ""
            line = (
                f"{self.desc}: {n}/{total if total is not None else '?'} {self.unit}s{percent}, "
                f"{rate:.2f} {self.unit}/s, elapsed {self.format_interval(fmt['elapsed'])}{postfix}\n"
            )
            fp: IO[str] = self.fp
            fp.write(line)
            fp.flush()
        return True

    def close(self) -> None:
        """Stop the 30-s ticker, then let tqdm write the last line."""
        self._stop.set()
        super().close()


def progress_class(progress: bool | str, stream: IO[str] | None = None) -> type[tqdm]:  # type: ignore[type-arg]
    """The progress class: tqdm.auto for "auto" (a notebook widget in Jupyter), the bar on a terminal, else
    LineProgress."""
    if progress == "auto":
        return tqdm_auto  # type: ignore[no-any-return]
    stream = stream or sys.stderr
    return tqdm if stream.isatty() else LineProgress
