# diplomatic-timeline: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install run stop test lint unit integration schema clean system-packages broker-jars bench bench-quick soak

help: ## list every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP) ## the virtualenv in .venv with the project and its dev and bench extras

broker-jars: $(STAMP) ## download the Kafka broker's jars from Maven Central (once)
	$(BIN)/timeline broker fetch

# Debian packages the tests use: kcat (a Kafka client no one here wrote) and
# Chromium with its driver (the browser tests of the web page).
system-packages: ## the Debian packages the tests use: kcat, chromium, chromium-driver
	@missing=""; \
	command -v kcat >/dev/null 2>&1 || missing="$$missing kcat"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: $(STAMP) ## start the broker, create topics, start worker and scheduler, publish the seed (Ctrl-C stops)
	$(BIN)/timeline up

stop: ## stop anything 'make run' left running
	-$(BIN)/timeline down

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check schemas streams scheduler tests bench
	$(BIN)/ruff format --check schemas streams scheduler tests bench
	$(BIN)/mypy

unit: $(STAMP) ## the unit tests only (no broker, seconds)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) system-packages broker-jars ## the integration tests only (a real broker, minutes)
	$(BIN)/pytest -q tests/integration

test: $(STAMP) system-packages broker-jars lint bench-quick ## install what is needed, then ruff, mypy, the quick bench and every test
	$(BIN)/pytest -q

# The benchmark on small numbers (about two minutes; a 5,000-event state): keeps it from rotting; asserts no timing.
bench-quick: $(STAMP) broker-jars ## the benchmark on small numbers (keeps it from rotting; asserts no timing)
	$(BIN)/python -m bench.run --quick

# The full benchmark: bench/results/latest.json, latest.png and a table (about 30 minutes on 2 cores:
# a 1M-event state backfilled, recovered and queried on two workers; docs/benchmarks.md).
bench: $(STAMP) broker-jars ## the full benchmark: bench/results/latest.json, latest.png and a table
	$(BIN)/python -m bench.run

# The reliability scenarios (tests/soak): real broker and workers, faults, and an oracle.
# Not part of `make test`; TIMELINE_SOAK_SCALE=0.1 runs them on a tenth of the events.
soak: $(STAMP) system-packages broker-jars ## the reliability scenarios: kills, bad input, restarts (about 20 minutes)
	TIMELINE_SOAK=1 $(BIN)/pytest -q -s -p no:randomly tests/soak

schema: $(STAMP) ## regenerate schemas/jsonschema/ from the models
	$(BIN)/timeline schema export

clean: ## remove the virtualenv, local state and caches
	rm -rf $(VENV) .timeline .pytest_cache .mypy_cache .ruff_cache
