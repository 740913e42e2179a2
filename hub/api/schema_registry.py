"""The Confluent Schema Registry REST API (the subset Avro producers and consumers use).

Mounted by the hub's HTTP API under ``/registry``, so that any Confluent client (Java, Python,
Go, kcat) works with ``url = http://<hub>/registry``. Paths, bodies, query parameters and error
bodies (``{"error_code": 40401, "message": "..."}``) are Confluent's; query parameters this
registry does not implement (``normalize``, ``format``, paging) are accepted and ignored, so
that newer clients keep working. Requests and responses may be ``application/json`` or
``application/vnd.schemaregistry.v1+json``; a response has the latter when the client's
``Accept`` names it, as Confluent clients' does.

Only Avro schemas are supported; JSON Schema and Protobuf are refused with error 42201.

Reads are open; every write needs an admin token and is audited
(:mod:`hub.api.schema_registry_access`).
The token is checked before anything else of the request, its body included: a write without
a valid token is refused 401/403 whatever its body. Two POSTs change nothing and are open like
the reads: looking a schema up under a subject, and compatibility checks. A registration
without an admin token of a schema the registry holds already (a live version of any subject)
is answered with the schema's id and adds no version: Confluent serializers register their
schema on every start (``auto.register.schemas``, on by default) under their topic's subject
(``ports.PECLL.vessel-value``), and the id is all they need of the answer, so a port's producer
works, with no credentials, with the schemas the hub registered. A new schema needs an admin.

No request, whatever its bytes, gets a 500: a bad request is refused with a Confluent error
(4xx), and a database failure is answered 503 (error 50001), which clients retry.
"""

import json
import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from hub.api import schema_registry_access as access
from hub.api.dependencies import RegistryStore, schema_registry_store
from hub.db.schema_registry import SchemaRegistryStore, Version, parse_level
from hub.errors import ServiceError
from hub.errors.schema_registry import (
    InvalidSchema,
    InvalidVersion,
    RegistryStoreError,
    SchemaNotFound,
    SchemaRegistryError,
    SubjectConfigNotFound,
    SubjectNotFound,
    VersionNotFound,
)

__all__ = ["REGISTRY_MEDIA_TYPE", "router"]

log = logging.getLogger(__name__)

REGISTRY_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
_MAX_VERSION = 2**31 - 1
_DIGITS = re.compile(r"^[0-9]{1,10}$")
_SUPPORTED_TYPES = ("AVRO",)
# Failures of PostgreSQL under the store, answered with Confluent's 50001 (clients may retry).
# TimeoutError: asyncpg's command timeout.
# ServiceError: the app has not opened the store yet (or has closed it).
_DATABASE_FAILURES = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
    ServiceError,
)
# The routes, by endpoint name, that change nothing although not GETs: open like the reads.
_READ_LIKE = frozenset({"lookup", "check_compatibility", "check_compatibility_all"})
_REGISTER = "register"


class SchemaRequest(BaseModel):
    """Body of registration, lookup and compatibility requests."""

    # Clients send more (metadata, ruleSet); what is not used here is ignored.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_text: str | None = Field(default=None, alias="schema", description="The schema.")
    schema_type: str | None = Field(
        default=None, alias="schemaType", description="AVRO (the default); nothing else."
    )
    references: list[dict[str, Any]] | None = Field(
        default=None, description="Schema references; not supported, must be empty."
    )

    def avro_text(self) -> str:
        """The schema text, once the request is known to be one this registry can handle."""
        kind = (self.schema_type or "AVRO").upper()
        if kind not in _SUPPORTED_TYPES:
            raise InvalidSchema(
                f"schemaType {self.schema_type} is not supported by the hub's registry; "
                "only AVRO schemas are"
            )
        if self.references:
            raise InvalidSchema("schema references are not supported by the hub's registry")
        if not self.schema_text:
            raise InvalidSchema("the request has no schema")
        return self.schema_text


class SchemaId(BaseModel):
    id: int


class SubjectVersion(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    subject: str
    version: int
    id: int
    schema_text: str = Field(alias="schema")


class SchemaText(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_text: str = Field(alias="schema")


class SubjectAndVersion(BaseModel):
    subject: str
    version: int


class CompatibilityResult(BaseModel):
    is_compatible: bool
    messages: list[str] | None = Field(
        default=None, description="Why not, with ?verbose=true (empty when compatible)."
    )


class ConfigUpdate(BaseModel):
    """Body and answer of ``PUT /config``: the compatibility level to set."""

    model_config = ConfigDict(extra="ignore")

    compatibility: str | None = None


class ConfigView(BaseModel):
    """Answer of ``GET /config``."""

    compatibilityLevel: str


class ErrorBody(BaseModel):
    error_code: int
    message: str


class _ConfluentRoute(APIRoute):
    """A route that checks the token of a write first, answers errors as Confluent does and in
    the media type asked for.

    Error handlers belong to the application, which the registry does not own; a route class
    keeps the Confluent error format inside the router, whatever app mounts it. The token is
    checked here, before FastAPI reads the body (which it does before any dependency runs), so
    that a write without a valid token is refused and audited whatever its body.

    A route is a write unless it is a GET or one of ``_READ_LIKE``: a route added later is
    guarded unless said otherwise.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        writes = not (self.methods or {"GET"}) <= {"GET", "HEAD"} and self.name not in _READ_LIKE
        action = f"registry.{self.name.replace('_', '-')}" if writes else None

        async def handle(request: Request) -> Response:
            admitted: str | None = None  # the actor of an allowed write, audited once answered
            try:
                response = None
                if action is not None:
                    admitted, response = await self._admit(request, action)
                if response is None:
                    response = await handler(request)
            except SchemaRegistryError as error:
                response = _error(error.http_status, error.error_code, str(error), error.headers)
            except RequestValidationError as error:
                response = _error(422, 422, _validation_message(error))
            except HTTPException as error:  # FastAPI's (Starlette's): a body it could not parse
                response = _error(
                    error.status_code, error.status_code, str(error.detail), error.headers
                )
            except _DATABASE_FAILURES as error:
                log.warning("schema registry: database failure: %s", error)
                failure = RegistryStoreError(f"{type(error).__name__}: {error}")
                response = _error(
                    failure.http_status, failure.error_code, str(failure), failure.headers
                )
            except ClientDisconnect:
                raise  # the client left (or its body went over the size limit): no answer
            except Exception:
                log.exception("schema registry: %s %s failed", request.method, request.url.path)
                response = _error(500, 500, "Internal server error of the hub's registry")
            if admitted is not None and action is not None:
                await access.record(
                    schema_registry_store(request).database,
                    admitted,
                    action,
                    _target(request),
                    _outcome(response),
                    _remote(request),
                )
            if _wants_registry_media_type(request):
                response.headers["content-type"] = REGISTRY_MEDIA_TYPE
            return response

        return handle

    async def _admit(self, request: Request, action: str) -> tuple[str | None, Response | None]:
        """The actor of an allowed write; or the answer to a registration of a known schema.

        Raises:
            Unauthorized, Forbidden: the refusal, once written to the audit log.
        """
        store = schema_registry_store(request)
        admission = await access.admit(store.database, request.headers.get("authorization"))
        if admission.refusal is None:
            return admission.actor, None
        if self.name == _REGISTER:
            schema_id = await _known_schema_id(store, request)
            if schema_id is not None:
                return None, _json({"id": schema_id})
        refusal = admission.refusal
        outcome = f"{refusal.http_status} {refusal}"
        await access.record(
            store.database, admission.actor, action, _target(request), outcome, _remote(request)
        )
        raise refusal


router = APIRouter(
    route_class=_ConfluentRoute,
    responses={
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
"""The registry's routes (mount under ``/registry``); each uses the schema registry's store the
app put on its state (:func:`hub.api.dependencies.provide`)."""
# The responses of the writes' access check, in their OpenAPI description.
_WRITES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No token, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "A token of another kind: not an admin one"},
}
_Deleted = Annotated[bool, Query(description="Include soft-deleted versions.")]


@router.get("/subjects", response_model=list[str])
async def list_subjects(
    store: RegistryStore,
    deleted: _Deleted = False,
    deleted_only: bool = False,
    deletedOnly: bool = False,
    subjectPrefix: str | None = None,
) -> list[str]:
    """The subjects with a live version (soft-deleted ones too with ``deleted=true``)."""
    subjects = await store.subjects(include_deleted=deleted or deleted_only or deletedOnly)
    if deleted_only or deletedOnly:
        live = set(await store.subjects())
        subjects = [subject for subject in subjects if subject not in live]
    # ":*:" is Confluent's "every context"; this registry has the default context only.
    if subjectPrefix and subjectPrefix != ":*:":
        subjects = [subject for subject in subjects if subject.startswith(subjectPrefix)]
    return subjects


@router.get("/subjects/{subject}/versions", response_model=list[int])
async def list_versions(
    subject: str,
    store: RegistryStore,
    deleted: _Deleted = False,
    deleted_only: bool = False,
    deletedOnly: bool = False,
) -> list[int]:
    """The subject's version numbers, oldest first."""
    versions = await store.versions(
        subject, include_deleted=deleted, deleted_only=deleted_only or deletedOnly
    )
    if versions:
        return versions
    # A subject whose versions are all soft-deleted is not found, as in Confluent's registry,
    # unless soft-deleted versions were asked for.
    if (deleted_only or deletedOnly) and await store.versions(subject):
        return versions
    raise SubjectNotFound(subject)


@router.get("/subjects/{subject}/versions/{version}", response_model=SubjectVersion)
async def get_version(
    subject: str, version: str, store: RegistryStore, deleted: _Deleted = False
) -> dict[str, object]:
    """One version of the subject (``latest`` or ``-1``: the newest)."""
    return await _version_body(store, subject, version, deleted)


@router.get("/subjects/{subject}/versions/{version}/schema")
async def get_version_schema(
    subject: str, version: str, store: RegistryStore, deleted: _Deleted = False
) -> Response:
    """The schema of one version of the subject, as the bare schema JSON."""
    body = await _version_body(store, subject, version, deleted)
    return Response(content=str(body["schema"]), media_type="application/json")


@router.post("/subjects/{subject}/versions", response_model=SchemaId, responses=_WRITES)
async def register(subject: str, request: SchemaRequest, store: RegistryStore) -> dict[str, int]:
    """Register a schema under the subject (idempotent); its id. An admin token is needed;
    without one, a schema the registry holds already is answered with its id (no version is
    added), what a Confluent serializer needs.

    Refused with 409 when the subject's compatibility level does not allow it after the
    versions registered before it.
    """
    return {"id": await store.register(subject, request.avro_text())}


@router.post("/subjects/{subject}", response_model=SubjectVersion)
async def lookup(
    subject: str, request: SchemaRequest, store: RegistryStore, deleted: _Deleted = False
) -> dict[str, object]:
    """The version of the subject registered with this schema, if any."""
    found = await store.lookup(subject, request.avro_text(), include_deleted=deleted)
    if found is None:
        if not await store.versions(subject, include_deleted=True):
            raise SubjectNotFound(subject)
        raise SchemaNotFound(f"Schema not found under subject '{subject}'")
    return {
        "subject": found.subject,
        "version": found.version,
        "id": found.id,
        "schema": found.schema,
    }


@router.delete("/subjects/{subject}", response_model=list[int], responses=_WRITES)
async def delete_subject(subject: str, store: RegistryStore, permanent: bool = False) -> list[int]:
    """Soft-delete the subject (``permanent=true`` after that: delete it); its versions.
    An admin token is needed."""
    return await store.delete_subject(subject, permanent=permanent)


@router.get("/schemas/ids/{schema_id}", response_model=SchemaText)
async def get_schema(schema_id: int, store: RegistryStore) -> dict[str, str]:
    """The schema with this id (what a consumer looks up from a message's prefix)."""
    return {"schema": await _schema_text(store, schema_id)}


@router.get("/schemas/ids/{schema_id}/schema")
async def get_bare_schema(schema_id: int, store: RegistryStore) -> Response:
    """The schema with this id, as the bare schema JSON."""
    text = await _schema_text(store, schema_id)
    return Response(content=text, media_type="application/json")


@router.get("/schemas/ids/{schema_id}/versions", response_model=list[SubjectAndVersion])
async def get_schema_versions(
    schema_id: int, store: RegistryStore, deleted: _Deleted = False
) -> list[dict[str, object]]:
    """Every subject version registered with this schema."""
    await _schema_text(store, schema_id)
    pairs = await store.schema_versions(schema_id, include_deleted=deleted)
    return [{"subject": subject, "version": version} for subject, version in pairs]


@router.get("/schemas/ids/{schema_id}/subjects", response_model=list[str])
async def get_schema_subjects(
    schema_id: int, store: RegistryStore, deleted: _Deleted = False
) -> list[str]:
    """Every subject with a version registered with this schema."""
    await _schema_text(store, schema_id)
    pairs = await store.schema_versions(schema_id, include_deleted=deleted)
    return list(dict.fromkeys(subject for subject, _ in pairs))


@router.get("/schemas/types", response_model=list[str])
async def schema_types() -> list[str]:
    """The schema types this registry accepts."""
    return list(_SUPPORTED_TYPES)


@router.post(
    "/compatibility/subjects/{subject}/versions/{version}",
    response_model=CompatibilityResult,
    response_model_exclude_none=True,
)
async def check_compatibility(
    subject: str, version: str, request: SchemaRequest, store: RegistryStore, verbose: bool = False
) -> dict[str, object]:
    """Whether the schema could follow this version of the subject (and why not)."""
    reasons = await store.check_compatibility(subject, _parse_version(version), request.avro_text())
    return _compatibility_body(reasons, verbose)


@router.post(
    "/compatibility/subjects/{subject}/versions",
    response_model=CompatibilityResult,
    response_model_exclude_none=True,
)
async def check_compatibility_all(
    subject: str, request: SchemaRequest, store: RegistryStore, verbose: bool = False
) -> dict[str, object]:
    """Whether the schema could follow every version of the subject (and why not)."""
    reasons = await store.check_compatibility_all(subject, request.avro_text())
    return _compatibility_body(reasons, verbose)


@router.get("/config", response_model=ConfigView)
async def get_global_config(store: RegistryStore) -> dict[str, str]:
    """The global compatibility level."""
    return {"compatibilityLevel": (await store.get_config(None)).value}


@router.put("/config", response_model=ConfigUpdate, responses=_WRITES)
async def set_global_config(update: ConfigUpdate, store: RegistryStore) -> dict[str, str]:
    """Set the global compatibility level (an admin token is needed)."""
    level = await store.set_config(None, parse_level(update.compatibility or ""))
    return {"compatibility": level.value}


@router.get("/config/{subject}", response_model=ConfigView)
async def get_subject_config(
    subject: str,
    store: RegistryStore,
    defaultToGlobal: bool = False,
) -> dict[str, str]:
    """The subject's own level (with ``defaultToGlobal=true``: else the global one)."""
    if defaultToGlobal:
        return {"compatibilityLevel": (await store.get_config(subject)).value}
    level = await store.subject_config(subject)
    if level is None:
        raise SubjectConfigNotFound(subject)
    return {"compatibilityLevel": level.value}


@router.put("/config/{subject}", response_model=ConfigUpdate, responses=_WRITES)
async def set_subject_config(
    subject: str, update: ConfigUpdate, store: RegistryStore
) -> dict[str, str]:
    """Set the subject's own compatibility level (an admin token is needed)."""
    level = await store.set_config(subject, parse_level(update.compatibility or ""))
    return {"compatibility": level.value}


@router.delete("/config/{subject}", response_model=ConfigView, responses=_WRITES)
async def delete_subject_config(subject: str, store: RegistryStore) -> dict[str, str]:
    """Make the subject follow the global level again; the level it had (an admin token is
    needed)."""
    level = await store.delete_config(subject)
    if level is None:
        raise SubjectConfigNotFound(subject)
    return {"compatibilityLevel": level.value}


@router.get("/associations/resources/{namespace}/{resource}", response_model=list[Any])
async def associations(namespace: str, resource: str) -> list[Any]:
    """Confluent's topic-to-subject associations: none here.

    Recent Confluent clients (2.16 among them) look a topic's associations up before
    serializing; finding none, they use the topic name strategy (``<topic>-value``).
    """
    return []


@router.get("/contexts", response_model=list[str])
async def contexts() -> list[str]:
    """Confluent's schema contexts: this registry has the default one only."""
    return ["."]


async def _version_body(
    store: SchemaRegistryStore, subject: str, raw_version: str, deleted: bool
) -> dict[str, object]:
    version = _parse_version(raw_version)
    found = await store.version(subject, version, include_deleted=deleted)
    if found is None:
        if not await store.versions(subject, include_deleted=deleted):
            raise SubjectNotFound(subject)
        raise VersionNotFound(subject, version)
    return {
        "subject": found.subject,
        "version": found.version,
        "id": found.id,
        "schema": found.schema,
    }


async def _schema_text(store: SchemaRegistryStore, schema_id: int) -> str:
    text = await store.schema_by_id(schema_id)
    if text is None:
        raise SchemaNotFound(f"Schema {schema_id} not found")
    return text


def _parse_version(raw: str) -> Version:
    """A version of the path: ``latest`` (or Confluent's ``-1``), or a number from 1."""
    if raw in ("latest", "-1"):
        return "latest"
    if _DIGITS.match(raw) and 1 <= int(raw) <= _MAX_VERSION:
        return int(raw)
    raise InvalidVersion(raw)


def _compatibility_body(reasons: list[str], verbose: bool) -> dict[str, object]:
    body: dict[str, object] = {"is_compatible": not reasons}
    if verbose:
        body["messages"] = reasons
    return body


async def _known_schema_id(store: SchemaRegistryStore, request: Request) -> int | None:
    """The id of the registration's schema if some subject has it as a live version.

    Anything wrong with the body is None here: the request is then refused for its token, not
    for its body.
    """
    try:
        body = SchemaRequest.model_validate_json(await request.body())
        return await store.live_schema_id(body.avro_text())
    except (ValueError, RecursionError, SchemaRegistryError):  # pydantic's ValidationError included
        return None


def _target(request: Request) -> str:
    """What a write is about, for the audit log: the subject, or ``(global)``."""
    target = str(request.path_params.get("subject", "(global)"))
    # FastAPI's bool parameters take these for true.
    if request.query_params.get("permanent", "").lower() in ("1", "on", "t", "true", "y", "yes"):
        target += " (permanent)"
    return target


def _outcome(response: Response) -> str:
    """How a write ended, for the audit log: ``200 ok``, or the status, code and message."""
    if response.status_code < 400:
        return f"{response.status_code} ok"
    try:
        body = json.loads(bytes(response.body))
        return f"{response.status_code} {body['error_code']} {body['message']}"
    except (ValueError, TypeError, KeyError):
        return str(response.status_code)


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None


def _json(body: object) -> JSONResponse:
    return JSONResponse(body)


def _error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error_code": code, "message": message}, status_code=status, headers=headers
    )


def _validation_message(error: RequestValidationError) -> str:
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()))
        problems.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "Unprocessable request: " + "; ".join(problems)


def _wants_registry_media_type(request: Request) -> bool:
    return "application/vnd.schemaregistry" in request.headers.get("accept", "")
