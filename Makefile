# diplomatic-timeline: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install run stop test lint unit integration schema clean system-packages broker-jars bench bench-quick soak

help:
	@echo "make run    start the broker, create topics, publish the seed (Ctrl-C stops)"
	@echo "make stop   stop anything 'make run' left running"
	@echo "make test   install what is needed, then ruff, mypy and pytest"
	@echo "make bench  the full benchmark (bench/results/latest.json, .png)"
	@echo "make soak   the reliability scenarios: kills, bad input, restarts (about 20 minutes)"
	@echo "make schema regenerate schemas/jsonschema/ from the models"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

broker-jars: $(STAMP)
	$(BIN)/timeline broker fetch

# Debian packages the tests use: kcat (a Kafka client no one here wrote) and
# Chromium with its driver (the browser tests of the web page).
system-packages:
	@missing=""; \
	command -v kcat >/dev/null 2>&1 || missing="$$missing kcat"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: $(STAMP)
	$(BIN)/timeline up

stop:
	-$(BIN)/timeline down

lint: $(STAMP)
	$(BIN)/ruff check schemas streams scheduler tests bench
	$(BIN)/ruff format --check schemas streams scheduler tests bench
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) system-packages broker-jars
	$(BIN)/pytest -q tests/integration

test: $(STAMP) system-packages broker-jars lint bench-quick
	$(BIN)/pytest -q

# The benchmark on small numbers (seconds): keeps it from rotting; asserts no timing.
bench-quick: $(STAMP) broker-jars
	$(BIN)/python -m bench.run --quick

# The full benchmark: bench/results/latest.json, latest.png and a table (about 10 minutes).
bench: $(STAMP) broker-jars
	$(BIN)/python -m bench.run

# The reliability scenarios (tests/soak): real broker and workers, faults, and an oracle.
# Not part of `make test`; TIMELINE_SOAK_SCALE=0.1 runs them on a tenth of the events.
soak: $(STAMP) system-packages broker-jars
	TIMELINE_SOAK=1 $(BIN)/pytest -q -s -p no:randomly tests/soak

schema: $(STAMP)
	$(BIN)/timeline schema export

clean:
	rm -rf $(VENV) .timeline .pytest_cache .mypy_cache .ruff_cache
