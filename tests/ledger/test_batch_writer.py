"""BatchWriter: commits in order on one thread, and an error stops everything after it."""

from __future__ import annotations

import threading

import pytest

from ledger.errors import StorageError
from ledger.sync.writer import WRITER_THREAD_NAME, BatchWriter


def test_commits_run_in_order_on_the_writer_thread() -> None:
    committed: list[int] = []
    threads: set[str] = set()
    done: list[tuple[int, int]] = []

    def commit(batch: int, *, size: int) -> None:
        threads.add(threading.current_thread().name)
        committed.append(batch)

    with BatchWriter(commit, on_committed=lambda block, count: done.append((block, count))) as writer:
        for batch in range(50):
            writer.submit(batch, size=1, done=(batch, 1))
    assert committed == list(range(50))
    assert done == [(b, 1) for b in range(50)]
    assert threads == {WRITER_THREAD_NAME}


def test_an_error_is_raised_to_the_caller_and_nothing_commits_after_it() -> None:
    committed: list[int] = []
    failed = threading.Event()

    def commit(batch: int) -> None:
        if batch == 3:
            failed.set()
            raise StorageError("database error: disk full")
        committed.append(batch)

    writer = BatchWriter(commit)
    with pytest.raises(StorageError, match="disk full"):
        for batch in range(10):
            writer.submit(batch)
            if batch == 4:
                failed.wait(5)
        writer.close()
    assert committed == [0, 1, 2]


def test_a_failing_caller_keeps_its_own_error() -> None:
    committed: list[int] = []
    with pytest.raises(KeyError):
        with BatchWriter(committed.append) as writer:
            writer.submit(1)
            raise KeyError("caller")
    assert committed == [1]  # what was handed over before the error still lands


def test_wait_returns_once_everything_submitted_is_committed() -> None:
    committed: list[int] = []
    release = threading.Event()

    def commit(batch: int) -> None:
        release.wait(5)
        committed.append(batch)

    with BatchWriter(commit) as writer:
        writer.submit(1)
        writer.submit(2)
        release.set()
        writer.wait()
        assert committed == [1, 2]
        writer.submit(3)
    assert committed == [1, 2, 3]


def test_wait_raises_the_writers_error() -> None:
    def commit(batch: int) -> None:
        raise StorageError(f"disk full at batch {batch}")

    with pytest.raises(StorageError, match="batch 1"), BatchWriter(commit) as writer:
        writer.submit(1)
        writer.wait()
