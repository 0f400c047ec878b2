# The README's commands. Everything a fresh clone needs is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint bench install migrate serve worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

## make demo: set up, load demo data, serve the portal at http://$(HOST):$(PORT)
demo: migrate
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: set up and run the whole test suite (DATABASE_URL selects PostgreSQL)
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

## make bench: run every benchmark under bench/ (each prints its figures)
bench: install
	@set -e; for script in bench/*.py; do \
		case "$$(basename $$script)" in _*) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script; \
	done

worker: install
	$(BIN)/celery -A portal worker --loglevel=INFO

clean:
	rm -rf var/causeway.sqlite3* var/static
