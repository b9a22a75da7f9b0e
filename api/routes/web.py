"""The public web page: `web/` served at `/`, its libraries from node_modules, and the few facts
the page needs that no API route gives (the escrow's address, chain id and finality depth).

    GET /                               web/index.html (the page routes itself with #/... hashes)
    GET /assets/{path}                  web/{path}: css/, js/ (nothing outside web/, no dotfiles)
    GET /vendor/chart.umd.min.js        node_modules/chart.js/dist/chart.umd.min.js
    GET /vendor/noble-hashes/{file}     node_modules/@noble/hashes/{file}: keccak_256 (sha3.js), ES modules
    GET /vendor/swagger-ui/{file}       node_modules/swagger-ui-dist/{file}: /docs' script, styles and icon
    GET /web/config                     {"contract", "chain_id", "finality_depth", "indexed_block", "node"}

Everything is local: the page and /docs load nothing from the internet (npm ci installs the
libraries). Paths resolve from the repository root, so the process may run from any directory;
a missing file is a clean 404.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from api.queries.checkpoint import sync_state
from api.responses import JSON
from api.runtime import Runtime
from ledger.core.addresses import checksum

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
NODE_MODULES = ROOT / "node_modules"
VENDOR = {"chart.umd.min.js": NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js"}
# npm packages served whole at /vendor/{name}/: their own files import each other by relative paths
PACKAGES = {
    "noble-hashes": NODE_MODULES / "@noble" / "hashes",
    "swagger-ui": NODE_MODULES / "swagger-ui-dist",
}
VENDOR_CACHE = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}

MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
# The page's own scripts, styles and API calls only: no inline code, nothing from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

router = APIRouter(include_in_schema=False)


def _file(path: Path, what: str, headers: dict[str, str]) -> FileResponse:
    if not path.is_file():
        raise HTTPException(404, f"{what} is not installed on this server")
    media = MEDIA.get(path.suffix.lower())
    if media is None:
        raise HTTPException(404, f"{what} is not served")
    return FileResponse(path, media_type=media, headers=headers)


def resolve_asset(relative: str, base: Path = WEB) -> Path | None:
    """`relative` inside `base`, or None when it would leave it or names a hidden file."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if not parts or "\x00" in relative or any(p == ".." or p.startswith(".") or "\\" in p for p in parts):
        return None
    root = base.resolve()
    path = root.joinpath(*parts).resolve()
    return path if path.is_relative_to(root) else None


@router.get("/")
async def index_page() -> FileResponse:
    return _file(WEB / "index.html", "the web page (web/index.html)", PAGE_HEADERS)


@router.get("/assets/{path:path}")
async def asset(path: str) -> FileResponse:
    found = resolve_asset(path)
    if found is None:
        raise HTTPException(404, f"no asset {path!r}")
    return _file(found, f"the asset {path!r}", ASSET_HEADERS)


@router.get("/vendor/{name}")
async def vendor(name: str) -> FileResponse:
    path = VENDOR.get(name)
    if path is None:
        raise HTTPException(404, f"no vendored file {name!r}")
    return _file(path, f"{name} (npm ci installs it under node_modules/)", VENDOR_CACHE)


@router.get("/vendor/{package}/{path:path}")
async def vendor_package(package: str, path: str) -> FileResponse:
    base = PACKAGES.get(package)
    found = resolve_asset(path, base) if base is not None else None
    if found is None:
        raise HTTPException(404, f"no vendored file {package}/{path}")
    return _file(found, f"{package}/{path} (npm ci installs it under node_modules/)", VENDOR_CACHE)


async def site_config(runtime: Runtime) -> dict[str, Any]:
    info = await sync_state(runtime.db)
    contract = await runtime.served_contract()
    return {
        "contract": checksum(contract) if contract else None,
        "chain_id": info.chain_id if info else None,
        "finality_depth": info.finality_depth if info else runtime.settings.finality_depth,
        "indexed_block": info.last_block if info else None,
        "node": runtime.rpc is not None,
    }


@router.get("/web/config")
async def read_site_config(request: Request) -> JSON:
    """What the page shows in the re-audit command and the verify answers."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise HTTPException(503, "the API is starting")
    return JSON(await site_config(runtime), headers={"Cache-Control": "no-cache"})
