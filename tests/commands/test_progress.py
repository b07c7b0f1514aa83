"""Progress for logs: plain lines every 5 % or 30 s when stderr is not a terminal; the bar on a terminal."""

from __future__ import annotations

import io
import time

from tqdm import tqdm

from scoresby.commands.progress import LineProgress, progress_class


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_every_5_percent_without_carriage_returns() -> None:
    out = io.StringIO()
    assert progress_class(True, out) is LineProgress
    with LineProgress(total=1000, desc="sund", unit="scene", file=out) as bar:
        for i in range(1000):
            bar.set_postfix(ok=i + 1, failed=0, refresh=False)
            bar.update(1)
    text = out.getvalue()
    assert "\r" not in text
    lines = [line for line in text.splitlines() if line]
    assert 20 <= len(lines) <= 23, lines  # the start, every 50 scenes, the end
    assert lines[-1].startswith("sund: 1000/1000 scenes (100 %),") and "scene/s" in lines[-1]
    assert "ok=1000" in lines[-1]
    assert lines[1].startswith("sund: 50/1000 scenes (5 %)")


def test_a_slow_run_still_gets_a_line_every_interval() -> None:
    out = io.StringIO()
    with LineProgress(total=1000, desc="slow", unit="scene", file=out, every_s=0.3) as bar:
        bar.update(1)
        time.sleep(1.0)  # no scene finishes: the ticker writes the line anyway
        before_end = out.getvalue()
    assert before_end.count("slow: 1/1000 scenes") >= 2


def test_a_terminal_keeps_the_bar() -> None:
    assert progress_class(True, _Tty()) is tqdm
