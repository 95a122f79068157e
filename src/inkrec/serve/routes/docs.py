"""The API docs at `/docs`: Swagger UI from our own files, so that they work offline and behind firewalls.

FastAPI's default page loads Swagger UI from a CDN; a server without internet access (or a browser that
blocks third-party scripts) then shows a blank page. web/build.mjs vendors the pinned swagger-ui-dist
(web/package-lock.json) into the page's vendor/swagger/, and this router serves those files itself, so the
docs do not depend on which page folder the server was started with.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from inkrec.page import PAGE_DIR
from inkrec.serve.errors import ApiError

SWAGGER_DIR = PAGE_DIR / "vendor" / "swagger"
DOCS_URL = "/docs"
# URL name -> file: what the docs page loads, and nothing else
ASSETS = {
    "swagger-ui-bundle.js": SWAGGER_DIR / "swagger-ui-bundle.js",
    "swagger-ui.css": SWAGGER_DIR / "swagger-ui.css",
    "favicon.svg": PAGE_DIR / "favicon.svg",
}

router = APIRouter(include_in_schema=False)


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}{DOCS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS_URL}/favicon.svg",
        oauth2_redirect_url=None,
        # Swagger UI would otherwise send the schema's URL to validator.swagger.io for a badge
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(DOCS_URL + "/{name}")
async def swagger_asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", f"no such file: {DOCS_URL}/{name}")
    return FileResponse(path)
