"""The pull's page writer: pages are written in order, one write at a time, grouped while the writer is busy, within
its record bound, and a failed write is not lost."""

from __future__ import annotations

import threading
import time

import pytest

from returnbridge.domain.statuses import CaseKind
from returnbridge.sync.ingest import PageWriter, PreparedPage


def page(number: int, records: int = 50) -> PreparedPage:
    return PreparedPage(CaseKind.RETURN, number, {}, [], records, None)  # account_id carries the page's number


def test_page_writer_writes_pages_in_order_one_write_at_a_time() -> None:
    written: list[int] = []
    busy = threading.Lock()

    def write(batch: list[PreparedPage]) -> None:
        assert busy.acquire(blocking=False), "two writes at once"
        time.sleep(0.01)
        written.extend(p.account_id for p in batch)
        busy.release()

    writer = PageWriter(write, max_records=500)
    for number in range(20):
        writer.submit(page(number))
    writer.finish()
    assert written == list(range(20))


class FirstWriteHeld:
    """A ``write`` that records each batch's page numbers and holds the first write until ``release``."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.started, self._released = threading.Event(), threading.Event()

    def __call__(self, batch: list[PreparedPage]) -> None:
        self.batches.append([p.account_id for p in batch])
        if len(self.batches) == 1:
            self.started.set()
            self._released.wait(5)

    def release(self) -> None:
        self._released.set()


def test_page_writer_groups_the_pages_queued_while_it_was_writing() -> None:
    write = FirstWriteHeld()
    writer = PageWriter(write, max_records=500)
    writer.submit(page(0))
    assert write.started.wait(5)
    for number in range(1, 5):
        writer.submit(page(number))
    write.release()
    writer.finish()
    assert write.batches == [[0], [1, 2, 3, 4]]


def test_page_writer_keeps_each_write_within_its_record_bound() -> None:
    write = FirstWriteHeld()
    writer = PageWriter(write, max_records=100)
    writer.submit(page(0))
    assert write.started.wait(5)
    writer.submit(page(1))
    writer.submit(page(2))
    submitted_while_full = threading.Thread(target=writer.submit, args=(page(3),))
    submitted_while_full.start()
    submitted_while_full.join(0.2)
    assert submitted_while_full.is_alive(), "submit did not wait while the queue held the bound"
    write.release()
    submitted_while_full.join(5)
    writer.finish()
    assert write.batches[0] == [0] and all(len(b) <= 2 for b in write.batches)
    assert [n for b in write.batches for n in b] == [0, 1, 2, 3]


def test_page_writer_surfaces_a_failed_write_at_the_next_submit() -> None:
    failed = threading.Event()

    def write(batch: list[PreparedPage]) -> None:
        failed.set()
        raise RuntimeError("disk full")

    writer = PageWriter(write, max_records=500)
    writer.submit(page(0))
    assert failed.wait(5)
    with pytest.raises(RuntimeError, match="disk full"):  # handed over once ``write`` has returned
        for number in range(1, 500):
            writer.submit(page(number))
            time.sleep(0.01)
    writer.abandon()


def test_page_writer_surfaces_a_failed_last_write_at_finish() -> None:
    def write(batch: list[PreparedPage]) -> None:
        raise KeyboardInterrupt("killed while writing")

    writer = PageWriter(write, max_records=500)
    writer.submit(page(0))
    with pytest.raises(KeyboardInterrupt):
        writer.finish()
    writer.abandon()
