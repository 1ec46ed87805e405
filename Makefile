# Developer entry points; each delegates to a script under scripts/.
#   make run                     bootstrap, refresh the demo tenant, serve on 127.0.0.1:5000
#   make test                    bootstrap, import contracts, pytest on SQLite and on PostgreSQL
#   make bench [ARGS='--scale 0.05']     benchmarks on SQLite (python -m bench --help)
#   make bench-pg [ARGS=...]     the same on a throwaway PostgreSQL server
#   make lint                    import contracts + ruff
#   make bootstrap               just create/refresh .venv

SHELL := /bin/bash
VENV  := .venv
ARGS  ?=

.PHONY: all bootstrap run test bench bench-pg lint clean

all: test

bootstrap:
	@bash scripts/bootstrap.sh

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

bench: bootstrap
	@$(VENV)/bin/python -m bench $(ARGS)

bench-pg: bootstrap
	@bash scripts/postgres.sh bash -c '$(VENV)/bin/python -m bench --database-url "$$XRM_TEST_DATABASE_URL" "$$@"' bench $(ARGS)

lint: bootstrap
	@PYTHONPATH=tests/fixture_plugins $(VENV)/bin/lint-imports --no-cache --no-logo
	@$(VENV)/bin/python -m ruff --version >/dev/null 2>&1 || $(VENV)/bin/python -m pip install -q ruff
	@$(VENV)/bin/python -m ruff check .

clean:
	rm -rf $(VENV)
