# The two commands of the README's quick start, and a few for developers.
.PHONY: run test lint services-stop clean

run:  ## the main job: Kafka, PostgreSQL, worker, HTTP API and traffic generator (Ctrl-C stops)
	@bash scripts/bootstrap.sh
	@exec .venv/bin/hub run

test:  ## everything CI checks: ruff, mypy and every test (starts its own Kafka and PostgreSQL)
	@bash scripts/test.sh

lint:  ## ruff and mypy only
	@bash scripts/bootstrap.sh
	@.venv/bin/ruff check hub streams schemas connectors bench tests
	@.venv/bin/ruff format --check hub streams schemas connectors bench tests
	@.venv/bin/mypy

services-stop:  ## stop the local broker and database if something left them running
	@bash scripts/bootstrap.sh
	@.venv/bin/hub services stop

clean:  ## remove the virtualenv and all local state (broker data, database cluster)
	@-.venv/bin/hub services stop 2>/dev/null
	rm -rf .venv .hub
