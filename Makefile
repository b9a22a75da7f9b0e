# CrowdLedger: every task goes through here so the environment is the same everywhere.
#   make run    set up, then `crowdledger up`: local chain, escrow, demo data, indexer, API and web page
#   make test   set up, then run the whole test suite (contracts in .venv-brownie, the rest in .venv)
#   make check  lint, format and types (what CI runs before the tests)
#   make bench  run the benchmarks under bench/
#
# Two Python environments, each installed from its lock file:
#   .venv          the runtime and its test tools (requirements/dev.lock)
#   .venv-brownie  eth-brownie, for `brownie compile` and tests/contracts (requirements/brownie.lock):
#                  brownie pins ~90 packages exactly, so it is kept out of the runtime's environment

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
BROWNIE_VENV := $(ROOT)/.venv-brownie
PYTHON ?= python3
export PATH := $(ROOT)/node_modules/.bin:$(VENV)/bin:$(PATH)
export SOLCX_BINARY_PATH := $(ROOT)/toolchain/solcx
export PYTHONUNBUFFERED := 1

.PHONY: setup brownie-setup compile test test-contracts test-python coverage run check lint format types \
	bench bench-gas bench-index bench-audit bench-api bench-cli lock clean

# The project's packages, as pyproject.toml lists them.
PACKAGES := ledger api cli devnet

# `setup` ends by compiling the project's bytecode, as pip does when it installs a wheel: an
# editable install leaves that to the first import, which never writes it where
# PYTHONDONTWRITEBYTECODE is set, so every command would compile every module from source (~0.08 s
# of an idle `crowdledger index`, measured). compileall skips what is current; a module edited
# afterwards is compiled in memory again until the next `make`.
setup: node_modules/.installed $(VENV)/.installed
	cd $(ROOT) && $(VENV)/bin/python -m compileall -q $(PACKAGES)

brownie-setup: node_modules/.installed $(BROWNIE_VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENV)/.installed: requirements/dev.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/dev.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

$(BROWNIE_VENV)/.installed: requirements/brownie.lock
	test -x $(BROWNIE_VENV)/bin/python || $(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/pip install --quiet --upgrade pip
	$(BROWNIE_VENV)/bin/pip install --quiet -r requirements/brownie.lock
	touch $@

compile: brownie-setup
	$(BROWNIE_VENV)/bin/brownie compile

test: setup brownie-setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)
	$(BROWNIE_VENV)/bin/pytest --network anvil tests/contracts $(PYTEST_ARGS)

test-python: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-contracts: brownie-setup
	$(BROWNIE_VENV)/bin/pytest --network anvil tests/contracts $(PYTEST_ARGS)

coverage: brownie-setup
	$(BROWNIE_VENV)/bin/brownie test tests/contracts --network anvil --coverage

run: setup
	crowdledger up $(UP_ARGS)

check: lint format types

lint: setup
	ruff check .

format: setup
	ruff format --check .

types: setup
	mypy

bench: bench-gas bench-index bench-audit bench-api bench-cli

bench-gas: setup
	python bench/gas.py

bench-index: setup
	python bench/index.py

bench-audit: setup
	python bench/audit.py

bench-api: setup
	python bench/api.py

bench-cli: setup
	python bench/cli.py

# Re-pin both environments after changing pyproject.toml or requirements/brownie.in.
lock: setup
	pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/dev.lock pyproject.toml
	pip-compile --quiet --no-emit-index-url --no-emit-find-links \
		-o requirements/brownie.lock requirements/brownie.in

clean:
	rm -rf build reports .pytest_cache
