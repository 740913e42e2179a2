"""A client of any Confluent-compatible schema registry, by URL (the hub's own included).

Credentials go in the URL (``https://user:password@host/…``) and are sent as HTTP Basic
authentication; the hub's registry takes an admin token as the password, which its writes need.
They never appear in an error message.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx

from schemas.codec import SchemaSource

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryClientError(RuntimeError):
    """The schema registry (a client's view of it) refused a request or could not be reached."""


class HttpSchemaRegistry(SchemaSource):
    """``SchemaSource`` over the registry's REST API (``/subjects``, ``/schemas/ids``)."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = _without_credentials(url.rstrip("/"))
        # httpx sends the URL's credentials, if any, as Basic authentication.
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/"), timeout=timeout_s, headers={"Accept": _CONTENT_TYPE}
        )

    async def schema_by_id(self, schema_id: int) -> str | None:
        response = await self._request("GET", f"/schemas/ids/{schema_id}")
        if response.status_code == 404:
            return None
        self._raise_for(response, f"schema {schema_id}")
        schema: str = response.json()["schema"]
        return schema

    async def register(self, subject: str, schema_text: str) -> int:
        response = await self._request(
            "POST",
            f"/subjects/{subject}/versions",
            json={"schema": schema_text, "schemaType": "AVRO"},
            headers={"Content-Type": _CONTENT_TYPE},
        )
        self._raise_for(response, f"registering under {subject}")
        schema_id: int = response.json()["id"]
        return schema_id

    async def close(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, **options: object) -> httpx.Response:
        try:
            return await self._client.request(method, path, **options)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            raise SchemaRegistryClientError(
                f"schema registry {self.url} not reachable: {error}"
            ) from None

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise SchemaRegistryClientError(
            f"schema registry {self.url}, {what}: {response.status_code} {message}"
        )


def _without_credentials(url: str) -> str:
    """``url`` without its user and password, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
