# The README's two commands: `make run` and `make test`. Everything else is a helper.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

# Test services: the machine's PostgreSQL and Redis (override to point elsewhere).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/thankview
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15
PYTEST_ARGS       ?=

.PHONY: run test test-strict install bench lint clean sf-validate

# npm ci: the browser tests' axe-core, pinned in package.json and package-lock.json.
$(STAMP): pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

# Embedded defaults: SQLite, filesystem Celery broker, local Salesforce simulator.
run: export DEBUG = true
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Starting web (http://127.0.0.1:8000), Celery worker + beat and the Salesforce simulator. Ctrl-C stops them."
	$(VENV)/bin/honcho start

test: export DATABASE_URL = $(TEST_DATABASE_URL)
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
screenshots: export DATABASE_URL = $(TEST_DATABASE_URL)
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
	rm -rf $(VENV) node_modules screenshots db.sqlite3 db.sqlite3-wal db.sqlite3-shm .celery .sfsim staticfiles .pytest_cache .pytest_media
