# compete: two commands for a fresh machine.
#   make run   set up, migrate the SQLite database, load the demo, serve on http://127.0.0.1:8000
#   make test  install what the tests need and run the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 3
SECRET := instance/secret_key

.PHONY: run test install install-test sysdeps translations translations-update lint migrate seed serve bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d compete/translations 2>/dev/null

$(SECRET):
	@mkdir -p instance
	@$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(48))" > $@
	@chmod 600 $@

migrate: install $(SECRET)
	COMPETE_SECRET_KEY=$$(cat $(SECRET)) $(BIN)/flask --app wsgi db upgrade

seed: migrate
	COMPETE_SECRET_KEY=$$(cat $(SECRET)) $(BIN)/flask --app wsgi compete seed-demo

run: seed
	@echo
	@echo "  compete is serving on http://$(HOST):$(PORT)/   (Ctrl+C stops it)"
	@echo
	COMPETE_SECRET_KEY=$$(cat $(SECRET)) $(BIN)/gunicorn -k sync -w $(WORKERS) \
		-b $(HOST):$(PORT) --access-logfile - wsgi:app

sysdeps:
	@sh scripts/sysdeps.sh

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: sysdeps install-test lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-test
	@for b in bench/*.py; do case $$b in bench/wsgi_*) continue;; esac; echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

translations-update: install-test
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
		-o compete/translations/messages.pot .
	$(BIN)/pybabel update -i compete/translations/messages.pot -d compete/translations \
		--no-fuzzy-matching

# Screenshots for the user guide (docs/guide.*.md): the demo on a temporary server, in Chromium.
.PHONY: guide-screenshots
guide-screenshots: install-test
	$(BIN)/python scripts/guide_screenshots.py
