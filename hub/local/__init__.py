"""Local Kafka and PostgreSQL for machines without Docker, fetched and run by the hub."""
