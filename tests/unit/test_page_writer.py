"""The pull's page writer: batches are written in order, one at a time, and a failed write is not lost."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from returnbridge.sync.ingest import PageWriter


def test_page_writer_writes_batches_in_order_one_at_a_time() -> None:
    written: list[Any] = []
    busy = threading.Lock()

    def write(batch: list[Any]) -> None:
        assert busy.acquire(blocking=False), "two batches written at once"
        time.sleep(0.01)
        written.append(batch[0])
        busy.release()

    writer = PageWriter(write)
    for number in range(5):
        writer.submit([number])  # type: ignore[list-item]
    writer.finish()
    assert written == [0, 1, 2, 3, 4]


def test_page_writer_surfaces_a_failed_write_at_the_next_submit() -> None:
    def write(batch: list[Any]) -> None:
        if batch == ["bad"]:
            raise RuntimeError("disk full")

    writer = PageWriter(write)
    writer.submit(["bad"])  # type: ignore[list-item]
    with pytest.raises(RuntimeError, match="disk full"):
        writer.submit(["next"])  # type: ignore[list-item]
    writer.abandon()


def test_page_writer_surfaces_a_failed_last_write_at_finish() -> None:
    def write(batch: list[Any]) -> None:
        raise KeyboardInterrupt("killed while writing")

    writer = PageWriter(write)
    writer.submit(["only"])  # type: ignore[list-item]
    with pytest.raises(KeyboardInterrupt):
        writer.finish()
    writer.abandon()
