# The two commands: `make run` serves a demo, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app tapbank
PORT ?= 5000

.PHONY: run run-legacy stop test fuzz lint format bench soak install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-runtime.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# run holds the development PostgreSQL (the app's instance/postgres) around its three steps and
# stops it when they end, unless it was already running; `make stop` stops one left running.
EMBEDDED := $(BIN)/python -m tapbank.embedded_postgres_cli
DEV_POSTGRES := instance/postgres

run: install
	exec $(EMBEDDED) run $(DEV_POSTGRES) -- sh -ec '$(FLASK) db upgrade; $(FLASK) demo setup; \
		PORT=$(PORT) WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} \
		exec $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app'

# run-legacy serves the same app over HTTPS on 127.0.0.1:8000 for AISBackend's clients, with a
# self-signed certificate made once under instance/ (`flask legacy certificate` prints its path).
LEGACY_PORT ?= 8000
LEGACY_TLS := instance/legacy-tls

run-legacy: install
	exec $(EMBEDDED) run $(DEV_POSTGRES) -- sh -ec '$(FLASK) db upgrade; $(FLASK) demo setup; \
		$(FLASK) legacy certificate; \
		PORT=$(LEGACY_PORT) WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} \
		exec $(BIN)/gunicorn --config gunicorn.conf.py \
			--certfile $(LEGACY_TLS)/cert.pem --keyfile $(LEGACY_TLS)/key.pem wsgi:app'

stop:
	@if [ -f $(VENV)/.installed ]; then $(EMBEDDED) stop $(DEV_POSTGRES); \
	else echo "no PostgreSQL server is running on $(DEV_POSTGRES)"; fi

# The tests run a real PgBouncer (Debian's, as the containers do) and drive the pages in Debian's
# chromium (Playwright's own browser download is not used); apt-get installs them when missing.
test: install-test
	@[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq pgbouncer; }
	@[ -n "$$TAPBANK_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

# Generated requests in far greater numbers than `make test` sends: schemathesis over the whole
# OpenAPI document and the hostile-input property tests (tests marked fuzz), FUZZ_EXAMPLES fresh
# examples each (default 1000, a few minutes); a failure is kept in .hypothesis/ and tried first
# next time.
fuzz: install-test
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -m fuzz $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# wrk drives the intake measurement; apt-get installs it when it is missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

bench: install-test
	@command -v wrk >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

# The soak run: the bank workload through a real PgBouncer for DURATION seconds, with faults on a
# schedule, then the checks (bench/soak). It needs pgbouncer, installed as `make test` does.
DURATION ?= 600

soak: install-test
	@[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq pgbouncer; }
	$(BIN)/python -m bench.soak --duration $(DURATION)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Mutation testing of the modules that move or guard money (docs/testing.md): long, resumable,
# not part of `make test`. MODULE=tapbank/taps/rules.py runs one module, AGAIN=1 reruns the mutants
# no test caught (after adding tests), JOBS sets how many run at once.
.PHONY: mutation
JOBS ?= 2

mutation: install-test
	@[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq pgbouncer; }
	$(BIN)/python -m mutation $(if $(MODULE),--module $(MODULE)) $(if $(AGAIN),--again) --jobs $(JOBS)
