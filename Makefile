# One entry point for people and CI. Every target sets up what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/layers/common/python:$(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup catalogs browser test test-unit test-integration test-e2e demo local bench load chaos lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed catalogs

catalogs: $(VENV)/.installed
	$(PY) -m postpurchase.messaging.catalogs

# Headless Chromium for the page tests (Playwright drives it): Debian's package, as root or with sudo.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@test -x $(CHROMIUM) && echo "chromium: $$($(CHROMIUM) --version)"

test: setup browser
	$(PY) -m pytest -n 2 tests

test-unit: setup
	$(PY) -m pytest tests/unit

test-integration: setup
	$(PY) -m pytest tests/integration

test-e2e: setup browser
	$(PY) -m pytest tests/e2e

demo: setup
	$(PY) -m infra.demo

# DEMO=1 plays the demo's story into the local runtime first (its order-page links then open here).
local: setup
	LOCAL_DEMO=$(DEMO) $(PY) -m infra.local.serve

bench: setup
	$(PY) -m infra.bench

# LOAD_CLIENTS storefronts (16) order for LOAD_SECONDS (30) on loopback; LOAD_URL targets a running `make local`.
load: setup
	$(PY) -m infra.load

# Fault injection on the local runtime (docs/reliability.md); `make test` runs a short form.
# CHAOS_ORDERS / CHAOS_DAYS size the story, CHAOS_ONLY=name,name picks scenarios.
chaos: setup
	CHAOS_ORDERS=$${CHAOS_ORDERS:-9} CHAOS_DAYS=$${CHAOS_DAYS:-4} $(PY) -m infra.chaos

clean:
	rm -rf $(VENV) outbox test-artifacts .pytest_cache
