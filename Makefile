# scanner-agent: the two commands that set up a fresh machine.
#   make run    creates .venv, installs everything, starts the agent with the embedded defaults
#   make test   the same set-up, then ruff, mypy and the whole test suite, then the Windows tests
#               (tests/windows) under Wine: make test-windows
# System packages are installed with apt-get when missing and when run as root; otherwise the
# command that would install them is printed. The agent needs libdmtx only; the test suite also
# needs a PostgreSQL server (storage tests) and Chromium with its driver (operator page tests).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_APT_PACKAGES  := libdmtx0b
TEST_APT_PACKAGES := postgresql chromium chromium-driver
PYTEST_ARGS ?=

.PHONY: run test test-windows clean-wine lint typecheck pytest system-deps test-system-deps bench bench-decode clean demo examples

run: $(STAMP)
	$(BIN)/scanner-agent serve

demo: $(STAMP)
	$(BIN)/scanner-agent serve --config config/examples/demo.toml

# the sample image and PDF of examples/, made again (tests/test_examples.py checks them)
examples: $(STAMP)
	$(BIN)/python -m tests.helpers.examples

test: $(STAMP) test-system-deps lint typecheck pytest test-windows

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Windows CPython under Wine runs tests/windows, its environment made once and cached outside the
# checkout (tests/windows/wine_env.py says how); one line says why when this machine cannot.
WINE_PYTEST_ARGS ?=
test-windows: $(STAMP)
	$(BIN)/python -m tests.windows.wine_env $(WINE_PYTEST_ARGS)

# forget the Windows test environment: the next make test-windows makes it again
clean-wine:
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/scanner-agent/wine"

bench: $(STAMP)
	$(BIN)/python benchmarks/parse.py

bench-decode: $(STAMP)
	$(BIN)/python benchmarks/decode.py --passes

system-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(RUN_APT_PACKAGES)"

test-system-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_APT_PACKAGES)"

apt-install:
	@missing=""; \
	for pkg in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing system packages:$$missing -- run: sudo apt-get install$$missing" >&2; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	$(MAKE) system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts

# Devices and pipeline: pty latency and camera throughput (run by hand; see docs/benchmarks.md)
bench-devices: $(STAMP)
	$(BIN)/python benchmarks/latency.py

.PHONY: bench-api
bench-api: $(STAMP)
	$(BIN)/python benchmarks/api.py

# Self-test duration, level by level (run by hand; see docs/benchmarks.md, "Self-test")
.PHONY: bench-selftest
bench-selftest: $(STAMP)
	$(BIN)/python benchmarks/selftest.py

# Start-up: --help, parse, serve's first /v1/health and its idle memory (run by hand; compare a
# tree with: .venv/bin/python benchmarks/startup.py --exe before=OTHER/.venv/bin/scanner-agent
# --exe after=.venv/bin/scanner-agent; see docs/benchmarks.md, "Start-up")
.PHONY: bench-startup
bench-startup: $(STAMP)
	$(BIN)/python benchmarks/startup.py

# GET /v1/scans at 1,000 and 10,000 stored scans (run by hand; see docs/benchmarks.md, "Scan list")
.PHONY: bench-scans
bench-scans: $(STAMP)
	$(BIN)/python benchmarks/scans_list.py

# A morning's mail: `decode --csv`, the watched folder and the readers alone, side by side
# (run by hand; see docs/benchmarks.md, "Batch decoding and the watched folder")
.PHONY: bench-batch
bench-batch: $(STAMP)
	$(BIN)/python benchmarks/batch.py
