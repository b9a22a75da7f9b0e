"""One router per resource, included by create_app in this order (api/main.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import audit, backers, campaigns, credits, docs, documents, health, ledger, stats, verify, web

# A request tries the routers in this order, and each router's routes in turn (several microseconds
# each; FastAPI matches the chosen router twice), so the busiest and smallest come first: the ledger
# (4 routes), backers (2), campaigns (7). Their paths do not overlap, so the order changes no answer.
# The web page comes last: its asset routes must not shadow the API.
ROUTERS: list[APIRouter] = [
    m.router
    for m in (ledger, backers, campaigns, credits, documents, verify, audit, stats, health, docs, web)
]
# /docs shows the resources in this order, whatever the order of the routers
TAGS = ["campaigns", "backers", "ledger", "documents", "verify", "audit", "stats", "operations"]
