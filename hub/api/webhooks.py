"""Webhook subscriptions: register a callback URL and filters, get signed notifications.

Any token the hub honours may subscribe, within what it may read (tenants never cross):

- a port's publisher token: its own port's events and KPIs;
- a customs token: its own country's verdicts, and the customs events of its country's ports;
- a read:kpis token: events and KPIs of any port, no verdicts;
- an admin token: anything.

A subscription belongs to its owner, the token's identity (``port:PECLL``, ``customs:PE``,
``kpis:``, ``admin:``): every token of that identity sees and manages it, any other gets 404.
The secret is answered once, at creation and at each rotation; a rotation takes effect at once
(the old secret signs nothing more). What is sent, how it is signed and retried:
:mod:`hub.notify`.

The token is checked before the body is read (the body is validated in the route), so a bad
body never gets a 422 before a refused token gets its 401/403.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.api.access import Identity, actor_of, identify
from hub.api.dependencies import Pool
from hub.db import audit
from hub.db.tokens import Publisher
from hub.db.webhooks import (
    Subscription,
    create_subscription,
    delete_subscription,
    port_countries,
    resume_subscription,
    rotate_secret,
    subscription_of,
    subscriptions_of,
)
from hub.notify.notifications import EVENT_TYPES, KINDS
from hub.notify.notifier import Notifier
from hub.notify.signing import new_secret
from hub.settings import HubSettings

Kind = Literal["events", "kpis", "verdicts"]
_Value = Annotated[str, Field(min_length=1, max_length=64)]
_Values = Annotated[list[_Value], Field(default_factory=list, max_length=200)]
_NEEDS_TOKEN = "a token is required (Authorization: Bearer …)"
_RESOLVE_TIMEOUT_S = 3.0
_TYPE_PREFIXES = frozenset({"vessel.*", "cargo.*", "customs.*", "certificate.*"})


class SubscriptionIn(BaseModel):
    """A new subscription: where to POST, and the filters (an empty list: any)."""

    model_config = ConfigDict(extra="forbid")

    callback_url: str = Field(min_length=1, max_length=2000)
    kinds: list[Kind] | None = Field(
        default=None,
        max_length=3,
        description="events, kpis, verdicts; unset: all the token may subscribe to",
    )
    ports: _Values
    event_types: _Values
    containers: _Values
    declarations: _Values
    certificates: _Values
    kpis: _Values
    countries: _Values


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    callback_url: str
    kinds: list[str]
    ports: list[str]
    event_types: list[str]
    containers: list[str]
    declarations: list[str]
    certificates: list[str]
    kpis: list[str]
    countries: list[str]
    status: Literal["active", "paused"]
    failures: int
    """Failed sends in a row (paused at HUB_WEBHOOK_PAUSE_AFTER)."""
    last_error: str | None
    last_delivery_at: datetime | None
    pending: int
    """Notifications not delivered yet."""
    created_at: datetime
    secret_rotated_at: datetime | None


class CreatedSubscription(SubscriptionOut):
    secret: str
    """The signing secret: shown this once."""


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]


class RotatedSecret(BaseModel):
    id: uuid.UUID
    secret: str
    """The new signing secret, shown this once; the old one signs nothing from now on."""


router = APIRouter()


def owner_of(identity: Identity) -> str:
    """Whose subscriptions a token manages."""
    if isinstance(identity, Publisher):
        return f"port:{identity.port}"
    return f"{identity.scope}:{identity.subject}"


async def _caller(
    pool: Any, request: Request, authorization: str | None, action: str, target: str
) -> Identity:
    identity = await identify(pool, authorization)
    if identity is None:
        detail = _NEEDS_TOKEN if authorization is None else "unknown, expired or revoked token"
        await audit.record(
            pool, actor_of(None, authorization), action, target, f"401 {detail}", _remote(request)
        )
        raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
    return identity


def _out(subscription: Subscription) -> dict[str, Any]:
    fields = SubscriptionOut.model_fields
    return {name: getattr(subscription, name) for name in fields}


def _notify_changed(request: Request) -> None:
    notifier = getattr(request.app.state, "notifier", None)
    if isinstance(notifier, Notifier):
        notifier.subscriptions_changed()


def _settings(request: Request) -> HubSettings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, HubSettings) else HubSettings()


@router.post(
    "/v1/webhooks",
    status_code=201,
    response_model=CreatedSubscription,
    responses={401: {}, 403: {}, 422: {}},
    # The body is read in the route, after the token: described here for the OpenAPI page.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SubscriptionIn.model_json_schema()}},
        }
    },
)
async def subscribe(
    request: Request, pool: Pool, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """Register a callback URL and its filters; the answer carries the signing secret, once."""
    action = "webhooks.create"
    identity = await _caller(pool, request, authorization, action, "")
    try:
        wanted = SubscriptionIn.model_validate_json(await request.body())
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ())) or "body"
        raise HTTPException(422, f"{where}: {problem.get('msg', 'invalid')}") from None
    countries = await port_countries(pool)
    filters = _checked_filters(wanted, countries)
    filters = _within_rights(identity, filters, countries)
    await _check_callback(wanted.callback_url, _settings(request).webhooks.allow_private)
    secret = new_secret()
    subscription = await create_subscription(
        pool, owner=owner_of(identity), callback_url=wanted.callback_url, secret=secret, **filters
    )
    await audit.record(
        pool, identity.actor, action, str(subscription.id), "201 created", _remote(request)
    )
    _notify_changed(request)
    return _out(subscription) | {"secret": secret}


@router.get("/v1/webhooks", response_model=SubscriptionList, responses={401: {}})
async def list_subscriptions(
    request: Request, pool: Pool, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """The caller's own subscriptions, with their status, failures, last error and last
    delivery."""
    identity = await _caller(pool, request, authorization, "webhooks.list", "")
    found = await subscriptions_of(pool, owner_of(identity))
    return {"subscriptions": [_out(subscription) for subscription in found]}


async def _own(
    pool: Any, request: Request, authorization: str | None, action: str, subscription_id: str
) -> tuple[Identity, uuid.UUID]:
    identity = await _caller(pool, request, authorization, action, subscription_id)
    try:
        return identity, uuid.UUID(subscription_id)
    except ValueError:
        raise HTTPException(404, "no such subscription") from None


@router.get("/v1/webhooks/{subscription_id}", response_model=SubscriptionOut, responses={404: {}})
async def read_subscription(
    subscription_id: str,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """One of the caller's subscriptions (another owner's: 404)."""
    identity, key = await _own(pool, request, authorization, "webhooks.read", subscription_id)
    found = await subscription_of(pool, owner_of(identity), key)
    if found is None:
        raise HTTPException(404, "no such subscription")
    return _out(found)


@router.delete("/v1/webhooks/{subscription_id}", status_code=204, responses={404: {}})
async def unsubscribe(
    subscription_id: str,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Delete one of the caller's subscriptions and its undelivered notifications."""
    action = "webhooks.delete"
    identity, key = await _own(pool, request, authorization, action, subscription_id)
    if not await delete_subscription(pool, owner_of(identity), key):
        raise HTTPException(404, "no such subscription")
    await audit.record(pool, identity.actor, action, str(key), "204 deleted", _remote(request))
    _notify_changed(request)
    return Response(status_code=204)


@router.post(
    "/v1/webhooks/{subscription_id}/rotate-secret",
    response_model=RotatedSecret,
    responses={404: {}},
)
async def rotate(
    subscription_id: str,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """A new signing secret, answered once; every notification sent from now on (retries of
    earlier ones too) is signed with it, and the old one signs nothing more."""
    action = "webhooks.rotate-secret"
    identity, key = await _own(pool, request, authorization, action, subscription_id)
    secret = new_secret()
    if not await rotate_secret(pool, owner_of(identity), key, secret):
        raise HTTPException(404, "no such subscription")
    await audit.record(pool, identity.actor, action, str(key), "200 rotated", _remote(request))
    return {"id": key, "secret": secret}


@router.post(
    "/v1/webhooks/{subscription_id}/resume", response_model=SubscriptionOut, responses={404: {}}
)
async def resume(
    subscription_id: str,
    request: Request,
    pool: Pool,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Make a paused subscription active again: its kept notifications are sent at once."""
    action = "webhooks.resume"
    identity, key = await _own(pool, request, authorization, action, subscription_id)
    owner = owner_of(identity)
    if not await resume_subscription(pool, owner, key):
        raise HTTPException(404, "no such subscription")
    await audit.record(pool, identity.actor, action, str(key), "200 resumed", _remote(request))
    _notify_changed(request)
    found = await subscription_of(pool, owner, key)
    if found is None:  # deleted meanwhile
        raise HTTPException(404, "no such subscription")
    return _out(found)


def _checked_filters(wanted: SubscriptionIn, countries: dict[str, str]) -> dict[str, list[str]]:
    """The filters, each value checked (422 naming the first bad one)."""
    unknown = [port for port in wanted.ports if port not in countries]
    if unknown:
        raise HTTPException(422, f"ports: {unknown[0]!r} is not one of the hub's ports")
    for name in wanted.event_types:
        if name not in EVENT_TYPES and name not in _TYPE_PREFIXES:
            raise HTTPException(
                422,
                f"event_types: {name!r} is not an event type (vessel.ata, cargo.disc, "
                "customs.released, certificate.submission, … or vessel.*)",
            )
    for country in wanted.countries:
        if len(country) != 2 or not country.isascii() or not country.isupper():
            raise HTTPException(422, f"countries: {country!r} is not an ISO 3166 alpha-2 code")
    return {
        "kinds": list(dict.fromkeys(wanted.kinds)) if wanted.kinds is not None else [],
        "ports": wanted.ports,
        "event_types": wanted.event_types,
        "containers": wanted.containers,
        "declarations": wanted.declarations,
        "certificates": wanted.certificates,
        "kpis": wanted.kpis,
        "countries": wanted.countries,
    }


def _within_rights(
    identity: Identity, filters: dict[str, list[str]], countries: dict[str, str]
) -> dict[str, list[str]]:
    """The filters narrowed to what ``identity`` may read, or 403 when they ask for more."""
    kinds = filters["kinds"]
    if isinstance(identity, Publisher):
        allowed: tuple[str, ...] = ("events", "kpis")
        port = identity.port
        if any(other != port for other in filters["ports"]):
            raise HTTPException(403, f"a publisher token of {port} subscribes to {port} only")
        filters["ports"] = [port]
    elif identity.scope == "customs":
        allowed = ("events", "verdicts")
        country = identity.subject
        if any(other != country for other in filters["countries"]):
            raise HTTPException(
                403, f"a customs token of {country} subscribes to {country}'s verdicts only"
            )
        filters["countries"] = [country]
        own_ports = sorted(p for p, c in countries.items() if c == country)
        if any(port not in own_ports for port in filters["ports"]):
            raise HTTPException(
                403, f"a customs token of {country} subscribes to {country}'s ports only"
            )
        filters["ports"] = filters["ports"] or own_ports
        if any(not name.startswith("customs.") for name in filters["event_types"]):
            raise HTTPException(
                403, f"a customs token of {country} subscribes to customs events only"
            )
        filters["event_types"] = filters["event_types"] or ["customs.*"]
    elif identity.scope == "kpis":
        allowed = ("events", "kpis")
    else:
        allowed = KINDS
    refused = [kind for kind in kinds if kind not in allowed]
    if refused:
        who = "a publisher" if isinstance(identity, Publisher) else f"a {identity.scope}"
        raise HTTPException(403, f"{who} token cannot subscribe to {refused[0]}")
    filters["kinds"] = kinds or list(allowed)
    return filters


async def _check_callback(url: str, allow_private: bool) -> None:
    """422 unless ``url`` is an http(s) URL without credentials whose host resolves, and (unless
    ``allow_private``) to public addresses only: no loopback, private, link-local or reserved
    one (against server-side request forgery)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as error:
        raise HTTPException(422, f"callback_url: not a URL ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise HTTPException(422, "callback_url: an http:// or https:// URL with a host is needed")
    if parsed.userinfo:
        raise HTTPException(422, "callback_url: credentials in the URL are not accepted")
    if allow_private:
        return
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(
                parsed.host, parsed.port or 443, type=socket.SOCK_STREAM
            ),
            _RESOLVE_TIMEOUT_S,
        )
    except (OSError, TimeoutError):
        raise HTTPException(422, f"callback_url: {parsed.host} cannot be resolved") from None
    for *_, address in infos:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise HTTPException(
                422,
                f"callback_url: {parsed.host} is a private or reserved address ({ip}); "
                "the hub only calls public addresses (HUB_WEBHOOK_ALLOW_PRIVATE)",
            )


def _remote(request: Request) -> str | None:
    return request.client.host if request.client else None
