"""/session: trades the API token for a session cookie, for the page's EventSource (no headers)."""

from fastapi import APIRouter, Request, Response

from streams.query.access import COOKIE, SESSION_SECONDS, session_value

router = APIRouter()


@router.post("/session", status_code=204)
async def session(request: Request) -> Response:
    """With `Authorization: Bearer TOKEN` (checked before any route): a cookie good for 12 hours."""
    answer = Response(status_code=204)
    token: str | None = request.app.state.token
    if token is not None:
        answer.set_cookie(
            COOKIE, session_value(token), max_age=SESSION_SECONDS, httponly=True, samesite="strict", path="/"
        )
    return answer
