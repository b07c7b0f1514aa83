"""blocks.run_blocks: results written in window order, errors raised here, progress lines when labelled."""

from __future__ import annotations

import logging
import threading

import pytest
from rasterio.windows import Window

from scoresby.places import blocks


class _Work:
    """Each block's result is its column; the block at column `fail` raises."""

    def __init__(self, fail: int | None = None) -> None:
        self.fail, self.closed = fail, 0
        self.lock = threading.Lock()

    def block(self, window: Window) -> int:
        if window.col_off == self.fail:
            raise ValueError(f"block {window.col_off} broke")
        return int(window.col_off)

    def close_thread(self) -> None:
        with self.lock:
            self.closed += 1


WINDOWS = [Window(c, 0, 1, 1) for c in range(12)]


def test_results_are_written_in_window_order_and_each_thread_closes() -> None:
    written: list[int] = []
    work = _Work()
    blocks.run_blocks(work, WINDOWS, written.append)
    assert written == list(range(12))
    assert work.closed == blocks.BLOCK_THREADS


def test_an_error_in_a_block_thread_is_raised_in_the_caller() -> None:
    written: list[int] = []
    with pytest.raises(ValueError, match="block 5 broke"):
        blocks.run_blocks(_Work(fail=5), WINDOWS, written.append)
    assert written == list(range(len(written))) and len(written) <= 5  # in order, none past the error


def test_labelled_blocks_log_how_far_they_are(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="scoresby.places.blocks"):
        blocks.run_blocks(_Work(), WINDOWS, lambda _: None, label="composite 2020")
        assert not caplog.records  # quicker than PROGRESS_EVERY_S: nothing to say
        monkeypatch.setattr(blocks, "PROGRESS_EVERY_S", 0.0)
        blocks.run_blocks(_Work(), WINDOWS[:4], lambda _: None)
        assert not caplog.records  # not labelled: silent
        blocks.run_blocks(_Work(), WINDOWS[:4], lambda _: None, label="composite 2020")
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(", ")[0] for line in lines] == [
        "composite 2020: 1 of 4 blocks (25 %)",
        "composite 2020: 2 of 4 blocks (50 %)",
        "composite 2020: 3 of 4 blocks (75 %)",
        "composite 2020: 4 of 4 blocks (100 %)",
    ]
    assert all(line.endswith(" s") for line in lines)
