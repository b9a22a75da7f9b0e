"""Commit a backfill's batches on a background thread, in order, one transaction each.

    with BatchWriter(store.write_batch) as writer:
        for entries, state in verified_batches:
            writer.submit(store.prepare_batch(entries, state))   # waits while one batch is pending

The database drivers release the GIL while they insert and commit, so the next range's fetch,
decode, hash-chain check and row building overlap the previous range's writes. Batches commit
strictly in submission order (one thread, a queue of one), so a crash still leaves the database at
a batch boundary. An error in the writer is raised to the caller at its next `submit`, `wait` or
at `close`; after an error nothing more is committed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

WRITER_THREAD_NAME = "crowdledger-batch-writer"
_STOP = object()


class BatchWriter:
    """Runs `commit(*args, **kwargs)` for each submitted batch on one background thread."""

    def __init__(
        self, commit: Callable[..., None], *, on_committed: Callable[..., None] | None = None
    ) -> None:
        self._commit = commit
        self._on_committed = on_committed
        self._pending: queue.Queue[Any] = queue.Queue(maxsize=1)  # task_done() once a commit has ended
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=WRITER_THREAD_NAME, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._pending.get()
            try:
                if item is _STOP:
                    return
                if self._error is not None:
                    continue  # drain without committing: a later batch must not land after a failed one
                args, kwargs, done = item
                try:
                    self._commit(*args, **kwargs)
                    if self._on_committed is not None:
                        self._on_committed(*done)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    self._error = exc
                del args, kwargs  # the batch's rows: not kept while waiting for the next one
            finally:
                self._pending.task_done()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, *args: Any, done: tuple[Any, ...] = (), **kwargs: Any) -> None:
        """Queue one commit; `on_committed(*done)` runs after it succeeds."""
        self._raise_if_failed()
        self._pending.put((args, kwargs, done))

    def wait(self) -> None:
        """Wait until every batch submitted so far is committed; raise the writer's error, if any."""
        self._raise_if_failed()
        if self._thread.is_alive():
            self._pending.join()
        self._raise_if_failed()

    def close(self) -> None:
        """Wait for every queued commit; raise the writer's error, if any."""
        if self._thread.is_alive():
            self._pending.put(_STOP)
            self._thread.join()
        self._raise_if_failed()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.close()
            return
        # the caller failed: let what it already handed over finish, keep the caller's error
        if self._thread.is_alive():
            self._pending.put(_STOP)
            self._thread.join()
