"""Serving the real app in tests: uvicorn in a thread on a free port, and a polling helper."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from devnet.nodes import free_port


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@dataclass
class LiveServer:
    """An app under uvicorn in a thread, on a free port of 127.0.0.1."""

    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    url: str

    @classmethod
    def start(cls, app: FastAPI) -> LiveServer:
        port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"app-{port}", daemon=True)
        thread.start()
        wait_until(lambda: server.started or not thread.is_alive(), timeout=30)
        if not server.started:
            raise RuntimeError("the app server did not start")
        return cls(app, server, thread, f"http://127.0.0.1:{port}")

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
