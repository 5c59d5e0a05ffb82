# Two commands matter: `make run` and `make test`. Both bootstrap everything
# they need into this folder (uv in .tools/, the project in .venv/).
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Every Python start (each test worker, each service of an e2e stack) would otherwise
# compile its imports from source: compile the libraries once at install, and let
# Python and pytest cache our own modules and the rewritten test modules.
export UV_COMPILE_BYTECODE := 1
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run test install browser wrk lint typecheck docs-check pytest bench fmt clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: $(UV) pyproject.toml uv.lock Makefile
	$(UV) sync --locked --python $(PYTHON) --quiet
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/gwstack up

test: install browser lint typecheck docs-check pytest

# Browser tests drive Debian's Chromium (Playwright cannot download its own here).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "no $(CHROMIUM): browser tests will be skipped (CI=true fails them instead)"; \
	  fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy services gwstack tests

docs-check: install
	$(BIN)/gwstack docs error-codes --check

# xdist workers (one per core); tests sharing a started stack stay on one worker.
# Browser tests run in a second pass of their own: Playwright's sync API keeps an event
# loop running on its worker's main thread, which every asyncio test after it would trip on.
PYTEST_WORKERS ?= auto
pytest: install
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup -m "not browser"
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup -m browser

# The billing bench drives its HTTP load with Debian's wrk (a Python generator stands in without it).
WRK := /usr/bin/wrk
wrk:
	@if [ ! -x $(WRK) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's wrk for the billing bench"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "no $(WRK): the billing bench uses its Python load generator"; \
	  fi; \
	fi

# Every bench runs even when an earlier one misses a target; the exit status says whether all passed.
bench: install wrk
	$(BIN)/python -m bench.compile; compile=$$?; \
	$(BIN)/python -m bench.gating; gating=$$?; \
	$(BIN)/python -m bench.billing; billing=$$?; \
	exit $$((compile || gating || billing))

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .mypy_cache .ruff_cache
