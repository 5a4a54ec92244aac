# The two set-up commands are `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

TEST_ENV := DJANGO_ENV=test \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sjogrens_diary} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/15} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/14} \
	LOCAL_KEY_FILE=$(CURDIR)/var/test_keys.json

.PHONY: run test install lint format bench e2e-deps clean messages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DJANGO_ENV=development $(PY) manage.py migrate --noinput
	DJANGO_ENV=development $(PY) manage.py seed_demo
	DJANGO_ENV=development $(PY) manage.py runserver 127.0.0.1:8000 --noreload

e2e-deps:
	bash scripts/ensure_browser.sh

test: $(STAMP) e2e-deps
	bash scripts/ensure_services.sh
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	bash scripts/ensure_services.sh
	$(TEST_ENV) $(PY) bench/run_all.py

# Interface translations: update every locale/<lang>/LC_MESSAGES/django.po from the code and
# templates, then compile the .mo files (both committed: a fresh clone has no compile step).
# Third-party and generated folders are left out; --no-location keeps diffs to real changes.
MESSAGES_IGNORE := --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench \
	--ignore=var --ignore=staticfiles --ignore=demo --ignore=imaging/training
# The page scripts' words (gettext() in pwa/js/ and static/*/ scripts) are the djangojs domain;
# the built bundles (static/pwa, minified) and vendored libraries are left out.
messages: $(STAMP)
	DJANGO_ENV=development $(PY) manage.py makemessages --all --no-location $(MESSAGES_IGNORE)
	DJANGO_ENV=development $(PY) manage.py makemessages --all --no-location -d djangojs $(MESSAGES_IGNORE) \
		--ignore=static/pwa --ignore=static/vendor
	DJANGO_ENV=development $(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules

clean:
	rm -rf $(VENV) var staticfiles node_modules
