"""The app factory.

    app = create_app()                      # settings from CROWDLEDGER_* variables
    app = create_app(Settings(db_url=...))  # tests, `crowdledger up`/`serve`

    uvicorn --factory api.main:create_app   # or `crowdledger serve`

Everything the process holds (database, node client, follower, auditor) lives in a Runtime built
when the app starts and stopped when it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.core.config import Settings, get_settings
from api.routes import ROUTERS
from api.services.metrics import EdgeMiddleware, Metrics
from api.services.runtime import Runtime
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
        runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="CrowdLedger API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry looks up the providers on every request even when none is set
        telemetry=None if settings.otel else {"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings  # read by SettingsDep; no dependency_overrides: FastAPI then re-analyses
    # every dependency on every request, which costs more than the hot routes themselves
    errors.install(app)
    # The routes become the app's own, as with @app.get. include_router would keep each router
    # as a nested matching layer that FastAPI walks on every request: on the hot routes that
    # cost more than the database query. They go first, ahead of FastAPI's own (/openapi.json,
    # /docs): a request tries the routes in order, a few microseconds each.
    own = [route for router in ROUTERS for route in router.routes]
    app.router.routes[:] = own + app.router.routes
    app.add_middleware(
        EdgeMiddleware, metrics=metrics, cors_origins=settings.cors_origins, hot_routes=not settings.otel
    )
    return app

