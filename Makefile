# watchhouse - the two commands are `make demo` and `make test` (see README).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml 2>/dev/null | cksum | cut -d' ' -f1)

export WATCHHOUSE_HOME ?= $(CURDIR)/.watchhouse/home
export WATCHHOUSE_LANDING ?= $(CURDIR)/.watchhouse/landing
export SPARK_LOCAL_IP ?= 127.0.0.1
# demo scale (override: make demo DEMO_USERS=50000 DEMO_DAYS=21)
DEMO_USERS ?= 20000
DEMO_DAYS ?= 14
DEMO_SEED ?= 7
DEMO_BATCHES ?= 3
# pytest-xdist workers of `make test`: the two e2e build chains run side by side (tests/python/conftest.py)
TEST_WORKERS ?= 2

.PHONY: help setup demo build backfill docs dashboard browser test lint format generate clean \
	server-start server-stop server-status

help:
	@echo "make demo   - set up .venv, generate demo data, run the whole pipeline (make build)"
	@echo "make test   - set up .venv, run every test (pytest incl. dbt build + dbt tests, sqlfluff, ruff)"
	@echo "make build  - the pipeline on WATCHHOUSE_LANDING into WATCHHOUSE_HOME (batch: WATCHHOUSE_AS_OF)"
	@echo "make backfill FROM=D1 [TO=D2] - the pipeline for every batch D1..D2 in order"
	@echo "make docs   - dbt docs generate into WATCHHOUSE_HOME/docs"
	@echo "make dashboard - rewrite WATCHHOUSE_HOME/dashboard/index.html from the marts (make build does it too)"
	@echo "make lint   - sqlfluff + ruff only"
	@echo "make server-start|server-stop|server-status - the cluster target's Spark server on 127.0.0.1"
	@echo "             (then WATCHHOUSE_TARGET=cluster make build; STANDALONE=1: a master + worker run its executors)"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; watchhouse needs Python 3.11 (or run make PYTHON=/path/to/python3.11)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || { echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); watchhouse needs 3.11"; exit 1; }
	@command -v java >/dev/null || [ -n "$$JAVA_HOME" ] || { echo "error: java not found; Spark needs Java 17 (e.g. apt-get install openjdk-17-jre-headless)"; exit 1; }
	@echo "setting up $(VENV) (pinned dependencies; log in $(VENV)/install.log)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first and alone: the CPU build of exactly this version (any other pulls GBs of CUDA)
	@{ $(BIN)/pip install --disable-pip-version-check -q torch==2.13.0 \
	   && $(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt \
	   && $(BIN)/pip install --disable-pip-version-check -q --no-deps -e . ; } > $(VENV)/install.log 2>&1 \
	  || { grep -v 'is ignored: it is neither' $(VENV)/install.log | tail -20; echo "error: dependency install failed (full log: $(VENV)/install.log)"; exit 1; }
	@rm -f $(VENV)/.installed-*; touch $@

# the Thrift server's hive-llap-common jar, from the pyspark 3.5.7 sdist on PyPI (src/watchhouse/hivejars.py);
# a no-op once the jar with the pinned hash is in the venv
setup: $(STAMP)
	@$(BIN)/python -m watchhouse.hivejars

generate: setup
	$(BIN)/watchhouse generate --out "$(WATCHHOUSE_LANDING)" --users $(DEMO_USERS) --days $(DEMO_DAYS) --seed $(DEMO_SEED)

build: setup
	$(BIN)/watchhouse build
	$(BIN)/watchhouse docs
	@$(BIN)/watchhouse where

# batches FROM..TO in order (default TO: the last complete day), e.g. make backfill FROM=2026-11-17
backfill: setup
	@test -n "$(FROM)" || { echo "error: make backfill needs FROM=YYYY-MM-DD (and optionally TO=YYYY-MM-DD)"; exit 1; }
	$(BIN)/watchhouse backfill --from $(FROM) $(if $(TO),--to $(TO))

docs: setup
	$(BIN)/watchhouse docs

dashboard: setup
	$(BIN)/watchhouse dashboard

# the cluster target's Spark server (Thrift + Spark Connect) on loopback; docs/cluster.md
server-start: setup
	$(BIN)/watchhouse server start $(if $(filter 1,$(STANDALONE)),--standalone)

server-stop: setup
	$(BIN)/watchhouse server stop

server-status: setup
	$(BIN)/watchhouse server status

# the browser test drives Debian's Chromium (Playwright for Python, pinned in requirements-dev.txt)
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the dashboard browser test (apt-get)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } > /tmp/watchhouse-chromium.log 2>&1 \
	  || { tail -5 /tmp/watchhouse-chromium.log; echo "error: could not install chromium (needs root and Debian's apt); install it, or set CHROMIUM=/path/to/chromium"; exit 1; }; }

# the demo replays the last DEMO_BATCHES daily runs, so lists of DEMO_BATCHES - 1 batches are scored
demo: generate
	$(BIN)/watchhouse backfill --last $(DEMO_BATCHES)
	$(BIN)/watchhouse docs
	@$(BIN)/watchhouse where

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models analyses tests/dbt --templater jinja --disable-progress-bar --nocolor

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/sqlfluff fix models tests/dbt --templater jinja --disable-progress-bar

test: lint browser
	WATCHHOUSE_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

clean:
	@# a running server of the home would outlive its folders
	@if [ -x $(BIN)/watchhouse ]; then $(BIN)/watchhouse server stop; fi
	rm -rf .watchhouse target logs .pytest_cache .ruff_cache
