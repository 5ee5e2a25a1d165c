"""/: the analysts' page; `WEB` is also what `create_api` mounts at /static."""

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import FileResponse

WEB = resources.files("streams.query.web")
"""The page's files, shipped in the package: nothing is fetched from outside."""

router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The analysts' page (static files shipped in the package; nothing is fetched from outside)."""
    return FileResponse(str(WEB.joinpath("index.html")))
