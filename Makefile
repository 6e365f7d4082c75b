# The README's two commands: `make run` and `make test`. Everything else is a helper.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

# Test services: TEST_DATABASE_URL / TEST_REDIS_URL when given, else the machine's PostgreSQL
# (127.0.0.1:5432) and Redis (127.0.0.1:6379) when they answer, else embedded ones for the
# session (devservices/pytest_plugin.py). The pytest header says which were used.
TEST_DATABASE_URL ?=
TEST_REDIS_URL    ?=
PYTEST_ARGS       ?=

.PHONY: run sfsim-stop sfsim-start test test-strict install bench lint clean sf-validate screenshots

# npm ci: the browser tests' axe-core, pinned in package.json and package-lock.json.
$(STAMP): pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

# The demo: embedded PostgreSQL and Redis with their data in .data/ (devservices/, kept across
# restarts; DATABASE_URL, CELERY_BROKER_URL, CACHE_URL override), and the Salesforce simulator.
run: export DEBUG = true
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
run: $(STAMP)
	$(PY) -m devservices run -- sh -c '\
	  python manage.py migrate --noinput && python manage.py seed_demo && \
	  echo "Starting web (http://127.0.0.1:8000), Celery worker + beat and the Salesforce simulator. Ctrl-C stops them." && \
	  exec honcho start'

# Stop / start the simulator alone while `make run` runs (the portal then shows "Unable to connect").
sfsim-stop: $(STAMP)
	$(PY) -m sfsim.keeper stop
sfsim-start: $(STAMP)
	$(PY) -m sfsim.keeper start

test: export TEST_DATABASE_URL := $(TEST_DATABASE_URL)
test: export TEST_REDIS_URL := $(TEST_REDIS_URL)
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The whole suite with every simulator started as the strictest customer org
# (sfsim/lockdown.py STRICT_ORG: no View Setup, a read-only field, a Text Name, rotating
# refresh tokens, private sharing with one hidden Contact, ...).
test-strict: export SFSIM_STRICT_ORG = 1
test-strict: test

# Screenshots of each main page at 1280x800 and 375x812 into screenshots/ (git-ignored),
# from the same pages and data as the accessibility test; needs the test PostgreSQL and Redis.
screenshots: export TEST_DATABASE_URL := $(TEST_DATABASE_URL)
screenshots: export TEST_REDIS_URL := $(TEST_REDIS_URL)
screenshots: export SCREENSHOTS_DIR := $(CURDIR)/screenshots
screenshots: $(STAMP)
	$(PY) -m pytest -q tests/integrations/screenshots.py
	@echo "Screenshots in $(CURDIR)/screenshots/"

bench: $(STAMP)
	$(PY) -m benchmarks.run

# Lint, then the layout rules (tools/layout_check.py), then complexity: radon lists the functions
# of grade D or worse (cyclomatic complexity above 20) but exits 0, so any output fails the target.
COMPLEXITY_SCOPE := thankview contacts engagement integrations --exclude "*/migrations/*"
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m tools.layout_check
	@out="$$($(VENV)/bin/radon cc -n D -s $(COMPLEXITY_SCOPE))" || exit 1; \
	if [ -n "$$out" ]; then echo "radon: functions above grade C:"; echo "$$out"; exit 1; fi

# Not run in CI: installs the Salesforce CLI (pinned, from npm) and converts and checks salesforce/.
sf-validate:
	bash salesforce/scripts/validate.sh

clean:
	rm -rf $(VENV) node_modules screenshots .sfsim staticfiles .pytest_cache .pytest_media
	@echo "The demo's data stays in .data/ (rm -rf .data to start afresh)."
