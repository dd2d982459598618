# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# CI also installs the Spark extra so the Spark tests always run there; locally they skip without it
comma  := ,
EXTRAS := $(if $(filter true,$(CI)),dev$(comma)spark,dev)

.PHONY: run test test-fast test-e2e lint typecheck bench demo emulator clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found). Set PYTHON=/path/to/python3.11."; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

## run: install if needed, then serve the console on http://127.0.0.1:8501
run: $(STAMP)
	$(VENV)/bin/tiktok-events app --server.address 127.0.0.1 --server.port 8501

## test: install if needed, then lint, type-check and run every test, browser tests included
test: $(STAMP)
	@$(PY) scripts/check_chromium.py
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -p no:cacheprovider -q

## test-fast: everything but the browser tests
test-fast: $(STAMP)
	$(VENV)/bin/pytest -p no:cacheprovider -q -m "not e2e"

test-e2e: $(STAMP)
	$(VENV)/bin/pytest -p no:cacheprovider -q -m e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## bench: print speed and memory figures at realistic sizes
bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

demo: $(STAMP)
	$(VENV)/bin/tiktok-events demo --orders 5000 --out demo-data

emulator: $(STAMP)
	$(VENV)/bin/tiktok-events emulator --port 9000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
