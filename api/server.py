"""The HTTP server's configuration, in one place for `crowdledger serve`/`up` and the tests: uvicorn
with the guarded httptools protocol (api/protocol.py: request heads capped in size and time), the
client address taken from X-Forwarded-For only from trusted proxies, no websockets, no access log.

    config = server_config(create_app(settings), settings, host="127.0.0.1", port=8000)
    uvicorn.Server(config).run()
"""

from __future__ import annotations

from typing import Any

import uvicorn

from api.core.config import Settings
from api.protocol import guarded_protocol


def server_config(
    app: Any,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    graceful_shutdown: int = 3,
    **options: Any,
) -> uvicorn.Config:
    """uvicorn's Config for the API app with the limits `settings` name (`options`: any other of
    uvicorn's, for tests)."""
    proxies = settings.forwarded_allow_ips
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws="none",
        http=guarded_protocol(max_head_bytes=settings.max_header_bytes, head_timeout=settings.header_timeout),
        # X-Forwarded-For / -Proto are believed only from these peers (uvicorn's ProxyHeadersMiddleware)
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        # open event streams would hold a graceful shutdown forever: give them a few seconds
        timeout_graceful_shutdown=graceful_shutdown,
        **options,
    )
