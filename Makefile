# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EXAMPLE ?= examples/resnet.py
# Exact torch/torchvision versions; pyproject.toml only states the supported ranges.
CONSTRAINTS := -c constraints.txt

.PHONY: demo test docs-check venv dev lint typecheck reports bench clean

# Extra pip arguments for the torch install, e.g. CPU-only wheels on a machine that reaches
# the PyTorch CPU index (README, "Installing"): make demo TORCH_INDEX="--extra-index-url URL"
TORCH_INDEX ?=

$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "==> creating $(VENV) and installing convscope with torch $$(sed -n 's/^torch==//p' constraints.txt)"
	@echo "    (PyPI's Linux x86_64 torch is the CUDA build: about 6 GB in $(VENV), a minute or more;"
	@echo "     README 'Installing' shows the CPU-only wheels, about 1 GB)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install --progress-bar on $(TORCH_INDEX) $(CONSTRAINTS) -e ".[vision]"
	@du -sh $(VENV) | awk '{print "==> installed: " $$1 " in " $$2}'
	touch $@

# Headless chromium for tests/render/test_report_browser.py (Debian's package; Playwright's own
# browser download does not work here). Idempotent: nothing happens when it is installed.
SUDO := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null || echo sudo)
CHROMIUM_INSTALL = command -v chromium >/dev/null || \
	($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

$(VENV)/.dev-installed: pyproject.toml constraints.txt $(VENV)/.installed
	$(PIP) install -q $(CONSTRAINTS) -e ".[dev]"
	$(CHROMIUM_INSTALL)
	touch $@

venv: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(VENV)/bin/convscope analyze $(EXAMPLE)
	mkdir -p out
	$(VENV)/bin/convscope analyze $(EXAMPLE) --format markdown -o out/demo-report.md
	$(VENV)/bin/convscope analyze $(EXAMPLE) --format json -o out/demo-report.json
	$(VENV)/bin/convscope report $(EXAMPLE) -o out/demo-report.html
	@echo "==> open out/demo-report.html in a browser (also: out/demo-report.md, out/demo-report.json)"

test: $(VENV)/.dev-installed
	$(CHROMIUM_INSTALL)
	$(VENV)/bin/ruff format --check -q convscope tests benchmarks examples
	$(PY) -m pytest -n 2 -q

# Every command and snippet of README.md, run as a user would (also part of `make test`).
docs-check: $(VENV)/.dev-installed
	$(PY) -m pytest -n 2 -q tests/test_readme.py

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check convscope tests benchmarks examples
	$(VENV)/bin/ruff format --check convscope tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The reports/ gallery: HTML + JSON + Markdown for every model in examples/
# (JSON and Markdown are committed; the HTML is git-ignored and only made here;
# tests/report/test_gallery.py fails when the committed JSON is stale).
reports: $(VENV)/.installed
	$(PY) -m convscope.report.gallery

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/bench_analyze.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
