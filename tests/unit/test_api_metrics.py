"""The API's request metrics name each route by its template, whichever router holds it: the
app's own routes (the home page's redirect, left out of the OpenAPI schema), included routers'
routes and the dashboard's files; a path no route serves is "unmatched". On the real app,
without PostgreSQL or Kafka (its routes answer 503 then, and are counted all the same)."""

from __future__ import annotations

from pathlib import Path

import httpx

from hub.api.app import create_api
from hub.settings import load_settings


def _labelled(metrics: str) -> set[tuple[str, str]]:
    """(route, status) of every request counted in ``metrics``."""
    found = set()
    for line in metrics.splitlines():
        if line.startswith("hub_http_requests_total{"):
            labels = dict(
                part.split("=", 1)
                for part in line[line.index("{") + 1 : line.rindex("}")].split(",")
            )
            found.add((labels["route"].strip('"'), labels["status"].strip('"')))
    return found


async def test_requests_are_counted_by_route_template(tmp_path: Path) -> None:
    settings = load_settings({}, state_dir=tmp_path)
    api = create_api(settings, "127.0.0.1:1", "postgresql://hub@127.0.0.1:1/hub")
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        assert (await client.get("/")).status_code == 307
        assert (await client.get("/dashboard/")).status_code == 200
        await client.get("/v1/ports/PECLL/calls")
        await client.get("/no/such/path")
        counted = _labelled((await client.get("/metrics")).text)
    routes = {route for route, _ in counted}
    assert ("/", "307") in counted
    assert ("/dashboard", "200") in counted
    assert "/v1/ports/{unlocode}/calls" in routes
    assert "unmatched" in routes
    assert "other" not in routes
