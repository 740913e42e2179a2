"""Port-community data hub: settings, local services, PostgreSQL access, HTTP API and CLI."""
