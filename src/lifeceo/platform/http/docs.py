"""/docs (Swagger UI) and /redoc from files installed with the package (fastapi-offline's copies
of swagger-ui-dist and redoc): no CDN, so they work offline and under the pages' CSP."""

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from lifeceo.platform.http.security import page_policy

VENDOR_URL = "/docs/vendor"
STATIC_URL = "/docs/static"
VENDOR_DIR = Path(str(files("fastapi_offline") / "static"))
STATIC_DIR = Path(__file__).with_name("docs_static")
# ReDoc under the pages' policy renders nothing ("styled-components error 17": it inserts <style>
# elements) and cannot index for its search box (a worker from a blob: URL), both seen in
# Chromium's console. So its page alone relaxes those two; its scripts stay our files only.
REDOC_POLICY = page_policy(style_src="'self' 'unsafe-inline'", worker_src="'self' blob:")


def swagger_page(*, title: str, root: str, openapi_url: str) -> str:
    """Swagger UI's page; started by swagger-init.js, which reads the OpenAPI URL from it."""
    vendor, static = escape(root + VENDOR_URL), escape(root + STATIC_URL)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} - Swagger UI</title>
<link rel="icon" type="image/png" href="{vendor}/favicon.png">
<link rel="stylesheet" href="{vendor}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(root + openapi_url)}"></div>
<script src="{vendor}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-init.js"></script>
</body>
</html>
"""


def redoc_page(*, title: str, root: str, openapi_url: str) -> str:
    """ReDoc's page: its standalone script renders every <redoc spec-url> element by itself."""
    vendor = escape(root + VENDOR_URL)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} - ReDoc</title>
<link rel="icon" type="image/png" href="{vendor}/favicon.png">
</head>
<body>
<redoc spec-url="{escape(root + openapi_url)}"></redoc>
<script src="{vendor}/redoc.standalone.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Create the app with docs_url=None and redoc_url=None (FastAPI's pages use a CDN)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(VENDOR_URL, StaticFiles(directory=VENDOR_DIR), name="docs-vendor")
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return HTMLResponse(swagger_page(title=app.title, root=request.scope.get("root_path", ""),
                                         openapi_url=openapi_url))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return HTMLResponse(redoc_page(title=app.title, root=request.scope.get("root_path", ""),
                                       openapi_url=openapi_url),
                            headers={"Content-Security-Policy": REDOC_POLICY})
