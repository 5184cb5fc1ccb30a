# Loanflow: `make run` serves the platform on SQLite with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint unit setup setup-dev clean translations

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Two stamps: running needs only the runtime dependencies (`make run`); the tests and linters
# add the dev extras on top (`make test`, `make lint`), so either order installs each set once.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

run: setup
	$(FLASK) db upgrade
	$(FLASK) processes deploy
	@LOANFLOW_BASE_URL=$${LOANFLOW_BASE_URL:-http://$(HOST):$(PORT)} \
	 LOANFLOW_PUBLIC_URL=$${LOANFLOW_PUBLIC_URL:-http://$(HOST):$(PORT)} $(FLASK) seed demo
	@echo "== API token of the platform admin (user 'admin'), for 'Authorization: Bearer ...' =="
	@$(FLASK) seed admin | tail -n 1
	@echo "== serving http://$(HOST):$(PORT) with the background worker (timers, retries) =="
	@echo "== the risk platform, identity verification and the SMS/e-mail gateway are the simulators under http://$(HOST):$(PORT)/simulators/, called over HTTP (the e-signature and payment ones too on PostgreSQL) =="
	@# The e-signature and payment simulators over HTTP only on PostgreSQL: on SQLite the step that creates a
	@# flow or places an order holds the database's write lock while it waits for the simulator, which must
	@# write too (in process there).
	@esign_url=; payments_url=; case "$${DATABASE_URL:-}" in postgres*) esign_url=http://$(HOST):$(PORT)/simulators/esign; \
	  payments_url=http://$(HOST):$(PORT)/simulators/payments;; esac; \
	export LOANFLOW_BASE_URL=$${LOANFLOW_BASE_URL:-http://$(HOST):$(PORT)} \
	        LOANFLOW_PUBLIC_URL=$${LOANFLOW_PUBLIC_URL:-http://$(HOST):$(PORT)} \
	        LOANFLOW_RISK_URL=$${LOANFLOW_RISK_URL:-http://$(HOST):$(PORT)/simulators/risk} \
	        LOANFLOW_RISK_API_KEY=$${LOANFLOW_RISK_API_KEY:-simulator-sandbox-key} \
	        LOANFLOW_NOTIFY_URL=$${LOANFLOW_NOTIFY_URL:-http://$(HOST):$(PORT)/simulators/notify} \
	        LOANFLOW_NOTIFY_API_KEY=$${LOANFLOW_NOTIFY_API_KEY:-simulator-sandbox-key} \
	        LOANFLOW_ESIGN_URL=$${LOANFLOW_ESIGN_URL:-$$esign_url} \
	        LOANFLOW_ESIGN_API_KEY=$${LOANFLOW_ESIGN_API_KEY:-simulator-sandbox-key} \
	        LOANFLOW_IDENTITY_URL=$${LOANFLOW_IDENTITY_URL:-http://$(HOST):$(PORT)/simulators/identity} \
	        LOANFLOW_IDENTITY_API_KEY=$${LOANFLOW_IDENTITY_API_KEY:-simulator-sandbox-key} \
	        LOANFLOW_PAYMENTS_URL=$${LOANFLOW_PAYMENTS_URL:-$$payments_url} \
	        LOANFLOW_PAYMENTS_API_KEY=$${LOANFLOW_PAYMENTS_API_KEY:-simulator-sandbox-key}; \
	  $(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT)

lint: setup-dev
	$(BIN)/ruff check app handlers tests bench wsgi.py
	$(BIN)/mypy

# The suite runs on every core up to four (pytest-xdist; each worker has its own SQLite file, PostgreSQL
# database, served app and browser), work-stealing so one slow test does not hold a worker's queue.
# `make test TEST_JOBS=0` runs it in one process.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

test: lint
	$(BIN)/pytest -n $(TEST_JOBS) --dist worksteal $(PYTEST_ARGS)

# tests/unit alone: a minute's check while working.
unit: setup-dev
	$(BIN)/pytest -n $(TEST_JOBS) --dist worksteal tests/unit $(PYTEST_ARGS)

# After changing user-facing text: refresh the catalogue, translate the new zh entries, compile.
translations: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_pgettext:1c,2 -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations
	$(BIN)/pybabel compile -d app/translations

clean:
	rm -rf $(VENV) instance .pytest_cache
