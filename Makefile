# Weft: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=
# Two pytest workers: the tests wait on PostgreSQL and the browser about half the time (15 min -> 10 min on 2 cores).
TEST_WORKERS ?= 2
# Instants `make test-clock` starts the unit and integration tests at (the clock ticks on from each), each just
# after a boundary so that no boundary falls mid-run (a test that straddles one would fail by chance, not always):
# Sunday 31 October 2027 01:00:30 UTC, just after Europe's autumn DST change, on a month's last day;
# Sunday 31 December 2028 16:00:30 UTC, the first seconds of 2029 and of a week in Shanghai, the test site's zone.
CLOCK_INSTANTS ?= 2027-10-31T01:00:30+00:00 2028-12-31T16:00:30+00:00
# Examples per API operation in `make fuzz` (`make test` runs 5: tests/integration/test_api_fuzz.py).
FUZZ_EXAMPLES ?= 100

.PHONY: run test test-clock fuzz lint format bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Weft needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $@ $(VENV)/.installed-run

# Lighthouse and axe-core for the browser tests (tests/quality: exact pins and a lock file; needs node and npm).
QUALITY := tests/quality
$(QUALITY)/node_modules/.installed: $(QUALITY)/package.json $(QUALITY)/package-lock.json
	npm ci --prefix $(QUALITY) --no-audit --no-fund --loglevel=error
	@touch $@

## Migrate a SQLite database under var/, load the demo data and serve on http://$(HOST):$(PORT)
run: $(VENV)/.installed-run
	$(BIN)/weft migrate
	$(BIN)/weft demo
	$(BIN)/weft serve --host $(HOST) --port $(PORT)

## Install the dev extras and run the whole suite (unit, integration on SQLite and PostgreSQL, browser)
test: $(VENV)/.installed-dev $(QUALITY)/node_modules/.installed
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## The suite on a moved clock: unit and integration tests at each of CLOCK_INSTANTS,
## on SQLite (the application writes every time, PostgreSQL's own clock is never read); the API fuzz runs once,
## in `make test`. Both cuts keep CI within its time: `make test` is about 29 minutes on 2 cores.
test-clock: $(VENV)/.installed-dev
	@for instant in $(CLOCK_INSTANTS); do \
	  echo "test-clock: WEFT_TEST_CLOCK=$$instant"; \
	  WEFT_TEST_CLOCK=$$instant $(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS) tests/unit tests/integration \
	    --ignore=tests/integration/test_api_fuzz.py -m "not postgres" -k "not postgresql" || exit 1; \
	done

## Schemathesis on every API operation as every role: many more examples than `make test`, and more checks
fuzz: $(VENV)/.installed-dev
	WEFT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) WEFT_FUZZ_ALL_CHECKS=1 $(BIN)/pytest -n $(TEST_WORKERS) \
	  tests/integration/test_api_fuzz.py $(PYTEST_ARGS)

## ruff, ruff format, and the layers contract (imports only go down: see the README's layout)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check backend tests migrations
	$(BIN)/ruff format --check backend tests migrations
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff format backend tests migrations
	$(BIN)/ruff check --fix backend tests migrations

## Benchmarks: sign-in and requests, availability writes, history import and staffing (SQLite and PostgreSQL),
## the roster solver, payouts (prepare and send 10,000: about 15 minutes, the stand-in in its own process), and
## every ops page and CSV on 2,000 agents and 13 weeks (PostgreSQL; a few minutes of seeding), and the requests
## queues, board and clock worker on 50,000 requests over a year (PostgreSQL)
bench: $(VENV)/.installed-dev
	$(BIN)/python -m tests.bench
	$(BIN)/python -m tests.bench.availability
	$(BIN)/python -m tests.bench.demand
	$(BIN)/python -m tests.bench.solver
	$(BIN)/python tests/bench/roster.py --size S --json
	$(BIN)/python -m tests.bench.payouts
	$(BIN)/python -m tests.bench.ops
	$(BIN)/python -m tests.bench.requests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(QUALITY)/node_modules
