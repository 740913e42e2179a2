"""PostgreSQL access: migrations and the queries of the hub's tables."""
