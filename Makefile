# Two commands do everything: `make suites` (the bundled resilience suites) and `make test`
# (the project's own tests). Each sets up what it needs first, idempotently.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SOURCES := pyproject.toml $(shell find chaos plugins inlab -type f -not -path '*/__pycache__/*' 2>/dev/null)
PYTEST_FLAGS ?=

.PHONY: setup suites test lint bench engine images clean

setup: $(VENV)/.installed engine images

# A plain (non-editable) install, so the plugin is tested the way users get it.
$(VENV)/.installed: $(SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@# A stale build/ or installed copy would carry files deleted from the source (and into the image's context).
	rm -rf build
	$(BIN)/python -m pip uninstall --quiet --yes pytest-chaos 2>/dev/null || true
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '.[dev]'
	@touch $@

engine:
	@scripts/ensure-docker.sh
	@scripts/ensure-tools.sh

images: $(VENV)/.installed engine
	$(BIN)/chaos images build

suites: setup
	$(BIN)/pytest suites --chaos-require-docker $(PYTEST_FLAGS)

test: setup
	$(BIN)/pytest tests --chaos-require-docker $(PYTEST_FLAGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check chaos plugins inlab tests suites bench
	$(BIN)/mypy

bench: setup
	CHAOS_WITH_COMPOSE=1 scripts/ensure-tools.sh
	$(BIN)/python bench/lab_up_down.py

clean:
	rm -rf $(VENV) build *.egg-info
