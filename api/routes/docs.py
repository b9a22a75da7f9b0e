"""The interactive API documentation at /docs: Swagger UI from npm's `swagger-ui-dist`, served by
this process (/vendor/swagger-ui/, api/routes/web.py) instead of FastAPI's default CDN, so it works
offline and loads nothing from elsewhere. ReDoc, which FastAPI would also load from a CDN, is off."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

SWAGGER = "/vendor/swagger-ui"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        # no badge that sends the document to validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
    )
