"""The hub's HTTP API (first version): health and the reference ports with live event counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.types import Scope

from hub.api import dcsa as dcsa_api
from hub.api import (
    edifact,
    feedback,
    indicators,
    ingest,
    kpis,
    open_data,
    schema_registry,
    validations,
    webhooks,
)
from hub.api.access import READER_RESPONSES, kpi_reader, token_first
from hub.api.certificates import router as certificates_router
from hub.api.conformance import router as conformance_router
from hub.api.dependencies import Pool, opened, provide, withdraw
from hub.api.failures import handle_failures
from hub.api.metrics import instrument
from hub.api.security import SecurityPolicy, secure
from hub.db.ports import ports_with_counts
from hub.db.schema_registry import SchemaRegistryStore
from hub.db.server import server_version
from hub.db.workers import live_workers
from hub.ingest.core import open_ingest_context
from hub.ingest.gateway import tenant_gateway
from hub.notify.feedback import running_feedback
from hub.notify.notifier import running_notifier
from hub.settings import HubSettings

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard" / "static"


class _Dashboard(StaticFiles):
    """The dashboard's files, with the headers a page of the hub should carry."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
        )
        return response


# A worker counts as alive while its last heartbeat is younger than this many intervals.
_HEARTBEAT_MISSES_ALLOWED = 3
# /health answers within this, whatever its checks do: a component that has not answered by then
# is "down" (a frozen PostgreSQL must not make the health check itself hang).
HEALTH_DEADLINE_S = 1.5
# A check still running after the deadline goes on in the background, for at most this long.
_CHECK_TIMEOUT_S = 10.0
# How long the API waits to open a connection to PostgreSQL: an unreachable server is a 503
# within seconds, not a request hanging for asyncpg's default minute.
_CONNECT_TIMEOUT_S = 5.0
KEEP_ALIVE_S = 65
"""How long the HTTP server keeps an idle connection (uvicorn's default is 5 s): a client that
polls every few seconds keeps its connection, instead of reusing one the server is closing at
that moment, which fails the request with a connection reset (a CI run of the dashboard test)."""
# How long a stopping API waits for requests under way (one stuck on a broker that does not
# answer must not keep the process from stopping: the client gets no answer and sends again).
SHUTDOWN_GRACE_S = 10
HEADER_BUFFER_BYTES = 2**20
"""How many bytes of a request's head the HTTP server (uvicorn's h11) buffers: well over any
honest request, so that an oversized header reaches the app and gets its 431 (see
``hub/api/security.py``) instead of a connection reset."""

Status = Literal["ok", "down"]


class ComponentHealth(BaseModel):
    status: Status
    detail: str


class Health(BaseModel):
    status: Status
    broker: ComponentHealth
    database: ComponentHealth
    worker: ComponentHealth


class PortSummary(BaseModel):
    unlocode: str
    name: str
    country: str
    lat: float
    lon: float
    events: int
    vessel_events: int
    last_event_at: datetime | None


class PortList(BaseModel):
    ports: list[PortSummary]
    total_events: int


def create_api(settings: HubSettings, bootstrap: str, database_url: str | None) -> FastAPI:
    """The ASGI app, bound to one broker and one database."""
    worker_within_s = settings.worker.heartbeat_s * _HEARTBEAT_MISSES_ALLOWED

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            database_url,
            min_size=1,
            max_size=8,
            command_timeout=10,
            timeout=_CONNECT_TIMEOUT_S,
        )
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            async with (
                open_ingest_context(settings, bootstrap, pool) as context,
                tenant_gateway(context, bootstrap),
                running_notifier(settings, bootstrap, context) as notifier,
                running_feedback(settings, bootstrap, context),
            ):
                app.state.notifier = notifier  # told when a subscription changes
                provide(
                    app,
                    pool=pool,
                    ingest=context,
                    kafka_admin=admin,
                    schema_registry_store=SchemaRegistryStore(pool),
                )
                app.state.health_probes = HealthProbes.of(admin, pool, worker_within_s)
                try:
                    yield
                finally:
                    withdraw(app)
                    app.state.health_probes = None
        finally:
            await admin.close()
            await pool.close()

    api = FastAPI(
        title="Port-community data hub",
        version="0.2.0",
        summary="Events, KPIs and certificate verdicts of the Network's port communities.",
        lifespan=lifespan,
    )
    # The last-resort handler innermost (added first), metrics outermost (added last): refusals
    # of the security layers, 503s and 500s are counted too.
    handle_failures(api)
    # A guarded route checks the token before the body: 401/403 (audited) before any 422.
    api.add_exception_handler(RequestValidationError, token_first)
    secure(
        api,
        SecurityPolicy(
            cors_origins=settings.api.cors_origin_list,
            max_request_bytes=settings.api.max_request_bytes,
            rate_per_s=settings.api.rate_limit_per_s,
            burst=settings.api.rate_limit_burst,
        ),
    )
    instrument(api)
    api.include_router(ingest.router, tags=["ingestion"])
    api.include_router(edifact.router, tags=["ingestion"])
    api.include_router(conformance_router, tags=["ingestion"])
    api.include_router(feedback.router, tags=["ingestion"])
    api.include_router(kpis.router, tags=["kpis"])
    api.include_router(indicators.router, tags=["indicators"])
    api.include_router(open_data.router, tags=["open data"])
    api.include_router(validations.router, tags=["certificates of origin"])
    api.include_router(certificates_router, tags=["certificates of origin"])
    api.include_router(schema_registry.router, prefix="/registry", tags=["schema registry"])
    api.include_router(webhooks.router, tags=["webhooks"])
    api.state.settings = settings
    api.include_router(dcsa_api.router, tags=["DCSA events"])
    api.mount("/dashboard", _Dashboard(directory=DASHBOARD, html=True), name="dashboard")
    api.include_router(router)
    return api


class _Probe:
    """One component's check, at most one running at a time: a health request waits for it up
    to a deadline and reports "down" past it, and the next request waits for the same check
    instead of starting another (a frozen server does not pile up checks, nor hold up /health).
    """

    def __init__(self, check: Callable[[], Coroutine[Any, Any, ComponentHealth]]) -> None:
        self._check = check
        self._running: asyncio.Task[ComponentHealth] | None = None

    async def __call__(self, within_s: float) -> ComponentHealth:
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._check())
        done, _ = await asyncio.wait({self._running}, timeout=within_s)
        if not done:
            return ComponentHealth(status="down", detail=f"no answer within {within_s:g} s")
        return self._running.result()


@dataclass(frozen=True, slots=True)
class HealthProbes:
    """The health check's probes, one per component; opened with the app (its lifespan)."""

    broker: _Probe
    database: _Probe
    worker: _Probe

    @classmethod
    def of(
        cls, admin: AIOKafkaAdminClient, pool: asyncpg.Pool, worker_within_s: float
    ) -> HealthProbes:
        return cls(
            broker=_Probe(lambda: _check_broker(admin)),
            database=_Probe(lambda: _check_database(pool)),
            worker=_Probe(lambda: _check_worker(pool, worker_within_s)),
        )


def health_probes(request: Request) -> HealthProbes:
    """The app's :class:`HealthProbes` (a FastAPI dependency; 503 until the app has opened)."""
    return opened(request, "health_probes", HealthProbes)


async def _check_broker(admin: AIOKafkaAdminClient) -> ComponentHealth:
    try:
        # start() connects and fetches cluster metadata; a no-op once started.
        await asyncio.wait_for(admin.start(), _CHECK_TIMEOUT_S)
        cluster = await asyncio.wait_for(admin.describe_cluster(), _CHECK_TIMEOUT_S)
    except Exception as error:  # any failure is "down", with its reason
        return ComponentHealth(status="down", detail=f"{type(error).__name__}: {error}")
    brokers = cluster.get("brokers", [])
    return ComponentHealth(status="ok", detail=f"{len(brokers)} broker(s)")


async def _check_database(pool: asyncpg.Pool) -> ComponentHealth:
    try:
        version = await asyncio.wait_for(server_version(pool), _CHECK_TIMEOUT_S)
    except Exception as error:
        return ComponentHealth(status="down", detail=f"{type(error).__name__}: {error}")
    return ComponentHealth(status="ok", detail=f"PostgreSQL {version}")


async def _check_worker(pool: asyncpg.Pool, within_s: float) -> ComponentHealth:
    try:
        workers = await asyncio.wait_for(live_workers(pool, within_s), _CHECK_TIMEOUT_S)
    except Exception as error:
        return ComponentHealth(status="down", detail=f"{type(error).__name__}: {error}")
    if not workers:
        return ComponentHealth(status="down", detail=f"no worker heartbeat in {within_s:.0f} s")
    return ComponentHealth(status="ok", detail=f"{len(workers)} worker(s) alive")


router = APIRouter()
"""The app's own routes: the dashboard's address, the health check and the ports list."""


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/dashboard/")


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(probes: Annotated[HealthProbes, Depends(health_probes)]) -> JSONResponse:
    """Broker, database and worker status; 503 when any of them is down or does not answer
    within 1.5 s (the answer comes within that, whatever the components do)."""
    broker, database, worker = await asyncio.gather(
        probes.broker(HEALTH_DEADLINE_S),
        probes.database(HEALTH_DEADLINE_S),
        probes.worker(HEALTH_DEADLINE_S),
    )
    healthy = all(c.status == "ok" for c in (broker, database, worker))
    body = Health(
        status="ok" if healthy else "down", broker=broker, database=database, worker=worker
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if healthy else 503)


@router.get(
    "/v1/ports",
    response_model=PortList,
    dependencies=[Depends(kpi_reader)],
    responses=READER_RESPONSES,
)
async def list_ports(pool: Pool) -> PortList:
    """The reference ports, each with the number of events the hub has taken in for it
    (a read:kpis or admin token is needed)."""
    rows = await ports_with_counts(pool)
    ports = [PortSummary(**dict(row)) for row in rows]
    return PortList(ports=ports, total_events=sum(port.events for port in ports))
