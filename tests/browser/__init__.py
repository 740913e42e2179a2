"""Headless-browser tests of the dashboard against a real hub (Kafka, PostgreSQL, `hub run`)."""
