# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Both create .venv and install the pinned dependency set (requirements.lock) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The test eMSP of the OCPI tests (tests/ocpi_emsp): extrawest-ocpi pins pydantic 1, so it has
# a virtualenv of its own. tests/integration/ocpi_emsp.py builds it the same way when missing.
EMSP_VENV := .venv-emsp
EMSP_STAMP := $(EMSP_VENV)/.installed-stamp
LINT_PATHS := src tests $(wildcard bench)

.PHONY: demo test lint typecheck imports unit serve lock clean browser screenshots emsp-venv

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

$(EMSP_STAMP): tests/ocpi_emsp/requirements.txt
	$(PYTHON) -m venv $(EMSP_VENV) && $(EMSP_VENV)/bin/pip install -q -r tests/ocpi_emsp/requirements.txt
	@touch $(EMSP_STAMP)

emsp-venv: $(EMSP_STAMP)

demo: $(STAMP)
	$(BIN)/chargeledger demo

# The suite runs on every core (pytest-xdist); pytest's exit code 5 (no tests) fails it too.
test: lint typecheck imports browser $(EMSP_STAMP)
	$(BIN)/pytest -n auto

# The checkout page is tested in a real browser: Debian's Chromium, driven by Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }

# The README's pictures, taken by the browser tests as they go (docs/screenshots).
screenshots: $(STAMP) browser
	CHARGELEDGER_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -p no:cacheprovider \
		tests/e2e/test_office_browser.py tests/e2e/test_driver_app_browser.py \
		tests/e2e/test_driver_app_simulator_browser.py

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

serve: $(STAMP)
	$(BIN)/chargeledger serve

# Re-resolve the pinned set after changing dependencies in pyproject.toml.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^chargeledger' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(EMSP_VENV) .chargeledger demo-output .pytest_cache .mypy_cache .ruff_cache
