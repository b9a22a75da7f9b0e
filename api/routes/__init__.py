"""One router per resource, included by create_app in this order (api/main.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import audit, backers, campaigns, docs, health, ledger, stats, verify, web

# the web page last: its catch-all asset routes must not shadow the API
ROUTERS: list[APIRouter] = [
    m.router for m in (campaigns, backers, ledger, verify, audit, stats, health, docs, web)
]
