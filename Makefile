# liftlab: `make run` to try it, `make test` to check it, `make bench` to time it.
PYTHON ?= python3.11
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Installed modules ship compiled: where PYTHONDONTWRITEBYTECODE is set, Python
# would otherwise compile every import from source on every start.
export UV_COMPILE_BYTECODE := 1

.PHONY: run test bench lint format clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The lean install: what the product needs to run, no test tools.
$(VENV)/.run-installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --inexact --no-dev --python $(PYTHON)
	touch $@

# Everything: test tools and the optional backends the tests exercise.
$(VENV)/.test-installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(VENV)/bin/liftlab db upgrade
	$(VENV)/bin/liftlab apply experiments/
	$(VENV)/bin/liftlab demo --if-empty
	$(VENV)/bin/liftlab flows
	$(VENV)/bin/liftlab ui

test: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest -n 2

bench: $(VENV)/.test-installed
	$(VENV)/bin/python bench/bench_assignment.py
	$(VENV)/bin/python bench/bench_import.py
	$(VENV)/bin/python bench/bench_results.py
	command -v wrk >/dev/null || apt-get install -y wrk
	$(VENV)/bin/python bench/bench_api.py
	$(VENV)/bin/python bench/bench_ui.py
	$(VENV)/bin/python bench/bench_attribution.py

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .uv .pytest_cache .ruff_cache .hypothesis
