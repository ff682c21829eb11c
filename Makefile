# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv and install from the lock file
# (with the installer, uv, pinned like everything it installs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench fuzz chaos lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/returnbridge demo

test: install
	$(BIN)/ruff check $(wildcard src tests bench)
	@# The short chaos runs mostly wait on the product's own delays (a poll a minute, the mirror's back-off): they
	@# run beside the rest of the suite instead of holding a test worker at its end.
	log=$$(mktemp); $(BIN)/pytest -q tests/chaos >$$log 2>&1 & chaos=$$!; \
	$(BIN)/pytest -n 2 --dist loadfile --ignore=tests/chaos --durations=15; suite=$$?; \
	wait $$chaos; chaos_status=$$?; echo "== the short chaos runs (tests/chaos)"; cat $$log; rm -f $$log; \
	test $$suite -eq 0 && test $$chaos_status -eq 0

lint: install
	$(BIN)/ruff check $(wildcard src tests bench)
	$(BIN)/ruff format --check $(wildcard src tests bench) || true

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The JSON API fuzzed from its OpenAPI document for longer than `make test` does (figures as JSON).
fuzz: install
	$(BIN)/python bench/fuzz_api.py --examples 150 --seed 1

# The chaos run (tests/chaos/runner.py) on PostgreSQL + Redis with worker processes, then on SQLite with one process;
# the database and queue come from RETURNBRIDGE_TEST_POSTGRES_URL / RETURNBRIDGE_TEST_REDIS_URL (or _CHAOS_ ones).
# CHAOS_SEED and CHAOS_CASES change the run; the figures are also written to var/chaos-<database>.json.
CHAOS_SEED ?= 8
CHAOS_CASES ?= 1000
CHAOS_SQLITE_CASES ?= 400
chaos: install
	mkdir -p var
	$(BIN)/python -m tests.chaos.runner --database postgres --seed $(CHAOS_SEED) --cases $(CHAOS_CASES) \
		--output var/chaos-postgres.json
	$(BIN)/python -m tests.chaos.runner --database sqlite --seed $(CHAOS_SEED) --cases $(CHAOS_SQLITE_CASES) \
		--output var/chaos-sqlite.json

# Re-pin every dependency (runtime and test) after editing pyproject.toml.
lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet "uv==0.13.9"; }
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
