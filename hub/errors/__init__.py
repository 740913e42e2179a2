"""Errors the hub raises on purpose, each with a message a user can act on.

    HubError
    ├── ConfigError        a setting is missing, malformed or unknown
    └── ServiceError       a service the hub needs cannot be reached or started
        ├── KafkaError         the broker (local or configured)
        └── DatabaseError      PostgreSQL (local or configured), migrations included

The CLI prints ``str(error)`` as one line and exits non-zero; nothing else is printed,
so every message names the setting, file or port at fault and what to do about it.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub reports to a user as one line."""


class ConfigError(HubError):
    """A setting is missing, malformed or unknown."""


class ServiceError(HubError):
    """A service the hub needs cannot be reached or started."""


class KafkaError(ServiceError):
    """The Kafka broker cannot be reached, fetched, formatted or started."""


class DatabaseError(ServiceError):
    """PostgreSQL cannot be reached or started, or a migration failed."""
