# perftool — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PERFTOOL := $(BIN)/perftool
PYTEST_ARGS ?=

.PHONY: demo test lint bench postgres browser screenshot install clean docs

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	-$(BIN)/pip uninstall -q -y perftool 2>/dev/null  # the distribution was renamed perftool-pg
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

## the bytecode compiled, as `pip install` of a wheel does (an editable install leaves that to the first
## run, and where PYTHONDONTWRITEBYTECODE is set every run compiles every module again: 0.1 s of `analyze`)
install: $(BIN)/.installed
	@$(BIN)/python -m compileall -q perftool >/dev/null

postgres:
	@./.ci/install-postgres

## headless Chromium + pdftotext for the HTML report's browser tests (they skip, saying so, without)
browser:
	-@./.ci/install-browser

## make demo: sandbox PostgreSQL + demo database + workload, then the health report
demo: install postgres
	$(PERFTOOL) demo

## make test: the same set-up, then the whole test suite on a real PostgreSQL
test: install postgres browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check perftool tests bench
	$(BIN)/mypy

## make bench: advisor quality and speed, analyze scale (ratios against baselines of the same run)
bench: install postgres
	$(BIN)/python -m bench

## make screenshot: docs/img/report.png, the README's picture of the demo's HTML report
screenshot: install postgres browser
	mkdir -p build
	$(PERFTOOL) demo --format html -o build/demo-report.html
	$(BIN)/python -m tests.browser build/demo-report.html docs/img/report.png 1100

docs: install
	$(BIN)/python -m perftool.docgen

clean:
	-$(PERFTOOL) sandbox stop
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
