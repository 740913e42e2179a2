"""The API's typed dependencies (``hub/api/dependencies.py``): a handler gets what the app's
lifespan put on ``app.state``; before that (or once it is closed) the request is answered 503
"not delivered, retry", like any other unavailable database or broker. On small apps of their
own, without PostgreSQL or Kafka."""

from __future__ import annotations

from typing import cast

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from hub.api import edifact, indicators, ingest, kpis, schema_registry, validations
from hub.api.certificates import router as certificates_router
from hub.api.dependencies import RegistryStore, provide, withdraw
from hub.api.failures import NOT_DELIVERED, handle_failures
from hub.db.schema_registry import SchemaRegistryStore

ROUTES = [
    ("POST", "/v1/events/vessel"),
    ("POST", "/v1/edifact"),
    ("GET", "/v1/ports/PECLL/kpis"),
    ("GET", "/v1/indicators"),
    ("GET", "/v1/admin/issuers"),
    ("POST", "/v1/certificates/verify"),
]


def unopened_app() -> FastAPI:
    """Every router of the hub on an app whose lifespan has opened nothing."""
    api = FastAPI()
    handle_failures(api)
    for module in (ingest, edifact, kpis, indicators, validations):
        api.include_router(module.router)
    api.include_router(certificates_router)
    api.include_router(schema_registry.router, prefix="/registry")
    return api


def client(api: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://hub")


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_route_before_the_app_has_opened_its_connections_is_503(
    method: str, path: str
) -> None:
    async with client(unopened_app()) as http:
        response = await http.request(method, path, headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
    assert response.json()["error"] == NOT_DELIVERED
    assert response.json()["reason"] == "UNAVAILABLE"
    assert "Retry-After" in response.headers


async def test_the_registry_before_its_store_is_opened_is_a_confluent_50001() -> None:
    async with client(unopened_app()) as http:
        read = await http.get("/registry/subjects")
        write = await http.post("/registry/subjects/s/versions", json={"schema": "{}"})
    for response in (read, write):
        assert response.status_code == 503
        assert response.json()["error_code"] == 50001


async def test_a_handler_gets_what_was_provided_until_it_is_withdrawn() -> None:
    api = FastAPI()
    handle_failures(api)

    @api.get("/which")
    async def which(store: RegistryStore) -> dict[str, str]:
        return {"store": type(store).__name__}

    # Never used for a query here: the dependency hands the object over, nothing more.
    store = SchemaRegistryStore(cast(asyncpg.Pool, object()))
    async with client(api) as http:
        before = await http.get("/which")
        provide(api, schema_registry_store=store)
        provided = await http.get("/which")
        withdraw(api)
        after = await http.get("/which")
    assert before.status_code == 503
    assert provided.status_code == 200
    assert provided.json() == {"store": "SchemaRegistryStore"}
    assert after.status_code == 503
