"""Serving the real app in tests: uvicorn in a thread on a free port (`LiveServer`), or
`crowdledger serve` in its own process (`ServerProcess`, for tests that measure the server's memory
or must not share its event loop with the test), and a polling helper. Both configure uvicorn
through api.server.server_config, as `crowdledger serve` does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from api.core.config import Settings
from api.server import server_config
from devnet.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]


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
    def start(cls, app: FastAPI, **options: Any) -> LiveServer:
        port = free_port()
        settings: Settings = app.state.settings
        config = server_config(app, settings, host="127.0.0.1", port=port, graceful_shutdown=1, **options)
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


@dataclass
class ServerProcess:
    """`crowdledger serve --no-follow` in a process of its own on a free port of 127.0.0.1, its
    settings from CROWDLEDGER_* variables; stderr goes to `log`."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @classmethod
    def start(cls, db_url: str, log: Path, env: Mapping[str, str] | None = None) -> ServerProcess:
        port = free_port()
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CROWDLEDGER_")},
            "CROWDLEDGER_AUDIT_INTERVAL": "0",
            **(env or {}),
        }
        command = [sys.executable, "-m", "cli", "serve", "--no-follow", "--db", db_url, "--port", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
            )
        server = cls(process, f"http://127.0.0.1:{port}", log)

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the server exited: {log.read_text()[-3000:]}")
            try:
                return httpx.get(server.url + "/health", timeout=1).status_code in (200, 503)
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=60, interval=0.1)
        return server

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss(self) -> int:
        """The server's resident memory in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
