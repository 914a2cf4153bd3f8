# Meterbill: the two commands are `make dev` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: install dev test unit integration infra-tests e2e build synth lint bench clean

.venv/.installed: pyproject.toml requirements/constraints.txt sdk/pyproject.toml
	test -d .venv || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c requirements/constraints.txt -e '.[dev]' -e ./sdk
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

.system-packages:
	@missing="$$(command -v java >/dev/null || echo default-jre-headless) $$(command -v chromium >/dev/null || echo chromium)"; \
	if [ -n "$$(echo $$missing)" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

install: .venv/.installed node_modules/.installed .system-packages

PORT ?= 3000
dev: install
	$(PY) -m local_stack.cli dev --port $(PORT) $(if $(DEMO),--demo,) $(if $(MEMORY),--in-memory,) \
	  $(if $(BULK_TIMEOUT),--bulk-timeout $(BULK_TIMEOUT),)

test: install
	$(PY) -m pytest -q -n 2 --dist loadfile tests

unit: install
	$(PY) -m pytest -q tests/unit

integration: install
	$(PY) -m pytest -q tests/integration

infra-tests: install
	$(PY) -m pytest -q tests/infra

e2e: install
	$(PY) -m pytest -q tests/e2e

# The Lambda asset (.build/lambda) and its dependency layer (.build/layer), no Docker.
build: install
	rm -rf .build && mkdir -p .build/lambda .build/layer/python
	cp -r functions .build/lambda/functions
	find .build/lambda -name __pycache__ -prune -exec rm -rf {} +
	$(PIP) install -q -r requirements/lambda.txt -t .build/layer/python \
	  --platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.12 --implementation cp

synth: build
	cdk synth --quiet

lint: install
	.venv/bin/ruff check functions infra local_stack tests benchmarks sdk app.py
	.venv/bin/mypy functions infra local_stack app.py sdk/meterbill_sdk

bench: install
	$(PY) -m benchmarks.run_all

clean:
	rm -rf .build cdk.out .meterbill
