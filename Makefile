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
DEMO ?= 1
dev: install
	$(PY) -m local_stack.cli dev --port $(PORT) $(if $(filter 1,$(DEMO)),--demo,) $(if $(MEMORY),--in-memory,) \
	  $(if $(BULK_TIMEOUT),--bulk-timeout $(BULK_TIMEOUT),)

test: install
	$(PY) -m pytest -q -n 3 --dist loadfile --durations=15 tests

unit: install
	$(PY) -m pytest -q tests/unit

integration: install
	$(PY) -m pytest -q tests/integration

infra-tests: install
	$(PY) -m pytest -q tests/infra

e2e: install
	$(PY) -m pytest -q tests/e2e

# The Lambda asset (.build/lambda) and its dependency layer (.build/layer), no Docker, with their bytecode
# compiled by the runtime's Python (3.12): Lambda's /var/task and /opt are read-only, so whatever has no
# matching .pyc is compiled again at every cold start. pip's own compile step would use the venv's 3.11
# (cpython-311 files that 3.12 ignores), hence --no-compile and compileall. unchecked-hash: the zip CDK makes
# stamps every file with one fixed date, so timestamp .pyc files never match their source in Lambda and are
# recompiled; a hash-based .pyc that is not checked is used as is, which is right for an asset whose sources
# cannot change after the build (and its bytes, hence the asset hash, no longer depend on build time).
# -s/-p record the paths the files have in Lambda (/var/task, /opt/python).
# botocore's data is cut to the services the functions call (infra/slim_botocore.py says why), and Powertools'
# re-exporting package __init__ files import on first use (infra/lazy_inits.py says why).
PY312 ?= $(shell ls -d $$(pyenv root 2>/dev/null || echo ~/.pyenv)/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -1)
build: install
	@test -x "$(PY312)" || { echo "python3.12 (the Lambda runtime) is needed: pyenv install 3.12, or PY312=/path/to/python3.12"; exit 1; }
	rm -rf .build && mkdir -p .build/lambda .build/layer/python
	cp -r functions .build/lambda/functions
	find .build/lambda -name __pycache__ -prune -exec rm -rf {} +
	$(PIP) install -q --no-compile -r requirements/lambda.txt -t .build/layer/python \
	  --platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.12 --implementation cp
	$(PY) -m infra.slim_botocore .build/layer/python
	$(PY) -m infra.lazy_inits .build/layer/python
	$(PY312) -m compileall -q -j0 --invalidation-mode unchecked-hash -s .build/lambda -p /var/task .build/lambda
	$(PY312) -m compileall -q -j0 --invalidation-mode unchecked-hash -s .build/layer/python -p /opt/python \
	  .build/layer/python

synth: build
	cdk synth --quiet

lint: install
	.venv/bin/ruff check functions infra local_stack tests benchmarks sdk app.py
	.venv/bin/mypy functions infra local_stack app.py sdk/meterbill_sdk benchmarks

bench: install
	$(PY) -m benchmarks.run_all

clean:
	rm -rf .build cdk.out .meterbill
