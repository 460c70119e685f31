# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EXAMPLE ?= examples/resnet.py

.PHONY: demo test venv dev lint typecheck reports bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[vision]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(VENV)/bin/convscope analyze $(EXAMPLE)
	mkdir -p out
	$(VENV)/bin/convscope analyze $(EXAMPLE) --format markdown -o out/demo-report.md
	$(VENV)/bin/convscope analyze $(EXAMPLE) --format json -o out/demo-report.json
	@echo "reports written to out/demo-report.md and out/demo-report.json"

test: $(VENV)/.dev-installed
	$(PY) -m pytest -n 2 -q

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check convscope tests benchmarks examples
	$(VENV)/bin/mypy

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/bench_analyze.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
