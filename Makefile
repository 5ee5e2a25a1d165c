# diplomatic-timeline: `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install run stop test lint unit integration schema clean kcat broker-jars

help:
	@echo "make run    start the broker, create topics, publish the seed (Ctrl-C stops)"
	@echo "make stop   stop anything 'make run' left running"
	@echo "make test   install what is needed, then ruff, mypy and pytest"
	@echo "make schema regenerate schemas/jsonschema/ from the models"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

broker-jars: $(STAMP)
	$(BIN)/timeline broker fetch

kcat:
	@command -v kcat >/dev/null 2>&1 || { \
	  echo "installing kcat (Debian package) ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq kcat >/dev/null; }

run: $(STAMP)
	$(BIN)/timeline up

stop:
	-$(BIN)/timeline down

lint: $(STAMP)
	$(BIN)/ruff check schemas streams scheduler tests
	$(BIN)/ruff format --check schemas streams scheduler tests
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) kcat broker-jars
	$(BIN)/pytest -q tests/integration

test: $(STAMP) kcat broker-jars lint
	$(BIN)/pytest -q

schema: $(STAMP)
	$(BIN)/timeline schema export

clean:
	rm -rf $(VENV) .timeline .pytest_cache .mypy_cache .ruff_cache
