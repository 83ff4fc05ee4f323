# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEV_SETTINGS := mailsite.settings.dev

.PHONY: run test install lint format migrate seed bench clean messages translations

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The Procfile's `python` must be the virtualenv's, whatever the shell has.
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
run: export DJANGO_SETTINGS_MODULE := $(DEV_SETTINGS)
run: export PYTHONUNBUFFERED := 1
run: install translations
	mkdir -p var
	$(PY) manage.py migrate --noinput
	@echo
	@$(PY) manage.py seed_demo
	@echo
	@echo "  Mailsite:          http://127.0.0.1:8000/"
	@echo "  Wagtail admin:     http://127.0.0.1:8000/cms/ (manager, content manager, superuser)"
	@echo "  Mail sink:         smtp://127.0.0.1:8025; every mail is printed below and saved under var/mail/"
	@echo "  Ctrl-C stops everything."
	@echo
	$(VENV)/bin/honcho start -f Procfile

# Style, and who may import whom (the contracts in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The .po files live in the repository; the compiled .mo files are built here.
translations: install
	DJANGO_SETTINGS_MODULE=mailsite.settings.test $(PY) manage.py compilemessages

# After changing or adding strings: update the catalogues, then translate the
# new entries (tests/test_translations.py fails until every one is).
messages: install
	DJANGO_SETTINGS_MODULE=mailsite.settings.test $(PY) manage.py makemessages -l ru
	DJANGO_SETTINGS_MODULE=mailsite.settings.test $(PY) manage.py makemessages -d djangojs -l ru

test: lint translations
	DJANGO_SETTINGS_MODULE=mailsite.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/dispatch.py
	$(PY) bench/pages.py
	$(PY) bench/audience.py

clean:
	rm -rf $(VENV) var staticfiles test-artifacts
