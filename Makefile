# One entry point for people and CI. Every target sets up what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/layers/common/python:$(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup catalogs browser test test-unit test-integration test-e2e demo local admin bench load chaos lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed catalogs

catalogs: $(VENV)/.installed
	$(PY) -m postpurchase.messaging.catalogs

# Headless Chromium for the page tests (Playwright drives it) and the fonts they render with, so the
# layout checks give the same answer on every machine: Debian's packages, as root or with sudo.
# fonts-noto-core has Latin, Cyrillic, Arabic and Thai; DejaVu is the wide fallback (and DejaVu Sans
# Mono the forced wide font of tests/e2e/test_layout_fonts_browser.py). Quick when the files are
# there; waits for apt's lock if another install (a CI run) holds it.
CHROMIUM ?= /usr/bin/chromium
# poppler-utils: the packing insert's tests read its PDF back (pdftotext, pdftoppm, pdfinfo, pdffonts).
BROWSER_PACKAGES := chromium fonts-noto-core fonts-dejavu-core poppler-utils
BROWSER_FILES := $(CHROMIUM) /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf \
  /usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf \
  /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf \
  /usr/bin/pdftotext /usr/bin/pdftoppm
browser:
	@for f in $(BROWSER_FILES); do test -e $$f || missing=1; done; [ -z "$$missing" ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get \
	    -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; }
	@for f in $(BROWSER_FILES); do test -e $$f || { echo "missing $$f"; exit 1; }; done
	@echo "chromium: $$($(CHROMIUM) --version 2>/dev/null); sans-serif fonts:" \
	  "$$(for l in ru th ar; do fc-match -f "$$l=%{family[0]}; " sans-serif:lang=$$l; done)"

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

# The operator CLI (docs/architecture.md, "Operator CLI"), against the running `make local` by
# default; ADMIN_TARGET="--stack NAME" for a deployed stack. e.g. make admin ARGS="dlq list"
ADMIN_TARGET ?= --local
admin: $(VENV)/.installed
	$(PY) -m postpurchase.admin $(ADMIN_TARGET) $(ARGS)

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
