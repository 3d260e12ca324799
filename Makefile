# The two commands a newcomer types: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test soak install install-test browser lint typecheck clean messages compile-messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(MAKE) --no-print-directory compile-messages

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(MAKE) --no-print-directory compile-messages

## The translations: workflow/locale/<lang>/LC_MESSAGES/gongkai.po (zh and en) are edited and committed;
## the .mo files are compiled from them here (git-ignored). `make messages` re-extracts the marked
## text of the code and templates (babel.cfg) and merges it into both catalogues: fill in the new
## msgstr lines of each language, then `make compile-messages` (tests/test_i18n.py checks both).
LOCALE := workflow/locale
compile-messages:
	$(BIN)/pybabel -q compile -d $(LOCALE) -D gongkai

messages:
	$(BIN)/pybabel -q extract -F babel.cfg -k Nn_:1,2 --no-location --sort-output \
	  --project gongkai -o $(LOCALE)/gongkai.pot .
	$(BIN)/pybabel -q update -i $(LOCALE)/gongkai.pot -d $(LOCALE) -D gongkai --no-fuzzy-matching \
	  --ignore-obsolete --width 120
	$(MAKE) --no-print-directory compile-messages

## make run: install, initialise the embedded SQLite database with the bundled definitions
## and a demo office (in demo-office/), walk one item through the whole chain, then run the
## web pages (http://127.0.0.1:8000/) and the public catalogue site (built into demo-office/site,
## served as static files by Python's http.server at http://127.0.0.1:8001/) beside the worker:
## reminders and emails are written as .eml files into demo-office/mail (Ctrl-C stops all three).
WEB_PORT ?= 8000
SITE_PORT ?= 8001
DEMO_ENV := GONGKAI_DATABASE_URL=sqlite:///demo-office/gongkai.db GONGKAI_MAIL_DIR=demo-office/mail \
	GONGKAI_BASE_URL=http://127.0.0.1:$(WEB_PORT) GONGKAI_SITE_DIR=demo-office/site GONGKAI_CHANNELS_DIR=demo-office/channels
# The demo writes the two key files; the web pages and the worker then read them.
KEYS_ENV := GONGKAI_AUDIT_KEY_FILE=demo-office/audit.key GONGKAI_SECRET_KEY_FILE=demo-office/secret.key \
	GONGKAI_WORKER_INTERVAL=20
run: install
	$(DEMO_ENV) $(BIN)/gongkai demo
	$(DEMO_ENV) $(KEYS_ENV) $(BIN)/gongkai site build --full
	@echo ""
	@echo "web pages: http://127.0.0.1:$(WEB_PORT)/   public site: http://127.0.0.1:$(SITE_PORT)/   emails: demo-office/mail/*.eml   Ctrl-C stops all"
	@$(DEMO_ENV) $(KEYS_ENV) sh -c '$(BIN)/gongkai web --port $(WEB_PORT) & web=$$!; \
	  $(BIN)/python -m http.server $(SITE_PORT) --bind 127.0.0.1 --directory demo-office/site >/dev/null 2>&1 & site=$$!; \
	  trap "kill $$web $$site 2>/dev/null" EXIT INT TERM; $(BIN)/python run_worker.py'

## make browser: Debian's chromium (driven by Playwright in the browser tests) and a CJK font so
## Chinese text renders in screenshots; apt-get runs only when one of them is missing. Playwright's
## own browser downloads are never used (`playwright install` is not run).
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -f $(CJK_FONT) ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=; \
	  elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	  else echo "make browser: not root and no sudo; install $(BROWSER_PACKAGES) by hand" \
	    "(browser tests skip without them, and fail in CI)" >&2; exit 0; fi; \
	  echo "make browser: installing $(BROWSER_PACKAGES) with apt-get"; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $(BROWSER_PACKAGES) >/dev/null; \
	fi

## make test: install the test extras, lint, type-check, check the layers (import-linter) and run the whole suite
## (SQLite, and PostgreSQL at 127.0.0.1:5432 when reachable; in CI it must be;
## browser tests in Debian's headless chromium).
test: install-test browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 -m "not soak"

## make soak: the reliability drills (tests/reliability/) at the issue's full sizes; make test runs their short variants.
soak: install-test
	$(BIN)/pytest -m soak -rA tests/reliability

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) demo-office *.egg-info .pytest_cache .mypy_cache .ruff_cache
