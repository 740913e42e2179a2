"""Errors the hub raises on purpose, each with a message a user can act on.

    HubError
    ├── ConfigError        a setting is missing, malformed or unknown
    └── ServiceError       a service the hub needs cannot be reached or started
        ├── BrokerError        the Kafka broker (local or configured)
        └── DatabaseError      PostgreSQL (local or configured), migrations included

The CLI prints ``str(error)`` as one line and exits non-zero; nothing else is printed,
so every message names the setting, file or port at fault and what to do about it.

The schema registry's errors (answered over HTTP with Confluent's error codes) are in
:mod:`hub.errors.schema_registry`, under ``HubError`` too.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub reports to a user as one line."""


class ConfigError(HubError):
    """A setting is missing, malformed or unknown."""


class ServiceError(HubError):
    """A service the hub needs cannot be reached or started."""


class BrokerError(ServiceError):
    """The Kafka broker cannot be reached, fetched, formatted or started. (Named apart from
    ``aiokafka.errors.KafkaError``, which the Kafka clients raise.)"""


class DatabaseError(ServiceError):
    """PostgreSQL cannot be reached or started, or a migration failed."""
