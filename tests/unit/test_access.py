"""The API's token and Host check, over stores in memory (no broker)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from streams.query.access import is_loopback, session_valid, session_value
from streams.query.api import create_api
from streams.query.dependencies import QueryContext
from streams.query.stores import MemoryStores
from streams.registry_files import load_registry

TOKEN = "s3cret-token"


def client(token: str | None, bind_host: str = "127.0.0.1") -> TestClient:
    context = QueryContext(stores=MemoryStores({}, 4), registry=load_registry())
    api = create_api(
        context, token=token, bind_host=bind_host, allowed_hosts=frozenset({"worker-2.internal"})
    )
    return TestClient(api, base_url="http://127.0.0.1:6066")


def test_with_a_token_every_route_but_health_and_the_page_needs_it() -> None:
    api = client(TOKEN)
    assert api.get("/health").status_code == 200
    assert api.get("/").status_code == 200
    refused = api.get("/actors")
    assert refused.status_code == 401 and "TIMELINE_API_TOKEN" in refused.json()["detail"]
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert api.get("/actors", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api.get("/actors", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert api.get("/stances", headers={"Authorization": TOKEN}).status_code == 401  # no scheme


def test_the_page_trades_the_token_for_a_cookie_that_eventsource_carries() -> None:
    api = client(TOKEN)
    assert api.post("/session").status_code == 401
    made = api.post("/session", headers={"Authorization": f"Bearer {TOKEN}"})
    assert made.status_code == 204
    cookie = made.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert api.get("/actors").status_code == 200  # the client now sends the cookie
    api.cookies.set("timeline_session", "9999999999.forged")
    assert api.get("/actors").status_code == 401


def test_sessions_expire_and_die_with_a_new_token() -> None:
    value = session_value(TOKEN, now=1000.0)
    assert session_valid(TOKEN, value, now=1001.0)
    assert not session_valid(TOKEN, value, now=1000.0 + 13 * 3600)
    assert not session_valid("another-token", value, now=1001.0)
    assert not session_valid(TOKEN, "garbage", now=1001.0)


def test_without_a_token_the_api_is_open_but_a_loopback_bind_checks_the_host() -> None:
    api = client(None)
    assert api.get("/actors").status_code == 200
    for host in ("localhost:6066", "127.0.0.1", "[::1]:6066", "worker-2.internal:6066"):
        assert api.get("/actors", headers={"Host": host}).status_code == 200, host
    rebound = api.get("/actors", headers={"Host": "attacker.example:6066"})
    assert rebound.status_code == 421 and "Host" in rebound.json()["detail"]
    assert (
        client(None, bind_host="0.0.0.0").get("/actors", headers={"Host": "anything.example"}).status_code
        == 200
    )


def test_loopback_addresses() -> None:
    assert (
        is_loopback("127.0.0.1")
        and is_loopback("localhost")
        and is_loopback("::1")
        and is_loopback("127.0.0.2")
    )
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.org")
