"""The app factory.

    app = create_app()                      # settings from CROWDLEDGER_* variables
    app = create_app(Settings(db_url=...))  # tests, `crowdledger up`/`serve`

    uvicorn --factory api.main:create_app   # or `crowdledger serve`

Everything the process holds (database, node client, follower, auditor) lives in a Runtime built
when the app starts and stopped when it stops. Every request goes through FastAPI's routing and
validation; the middlewares are Starlette's CORS, the request rules every route shares (HEAD,
NUL: api/guard.py) and the request metrics (api/metrics.py). The server's own limits (request
heads' size and time, trusted proxies) are in api/server.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from api import errors
from api.core.config import Settings, get_settings
from api.guard import RequestGuard
from api.metrics import Metrics, MetricsMiddleware
from api.routes import ROUTERS, TAGS
from api.runtime import Runtime
from ledger import __version__

DESCRIPTION = """The public, read-only view of a CrowdfundEscrow's ledger as indexed by CrowdLedger.

Amounts are decimal strings (exact uint256), addresses are EIP-55 checksummed, times are ISO 8601
UTC. Campaign states are computed at the chain time of the indexed tip, never the server's clock.
Lists are keyset-paginated: pass a page's `next` as `?cursor=` (limit 1-500, default 50).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured API app; `settings` default to the environment's (get_settings())."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings, metrics)
        app.state.runtime = runtime
        try:
            await runtime.start()
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="CrowdLedger API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[{"name": tag} for tag in TAGS],
        lifespan=lifespan,
        docs_url=None,  # served from node_modules instead of a CDN (api/routes/docs.py)
        redoc_url=None,
        # FastAPI's native OpenTelemetry looks up the providers on every request even when none is set
        telemetry=None
        if settings.otel
        else {"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings  # read by SettingsDep
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "HEAD", "PUT"],  # PUT: /documents, the one write
        allow_headers=["Last-Event-ID", "If-None-Match", "Content-Type"],
        expose_headers=["ETag"],
        max_age=86400,
    )
    app.add_middleware(RequestGuard)  # HEAD as GET, 404 for a NUL in the path (api/guard.py)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: it times CORS answers too
    return app
