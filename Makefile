# CrowdLedger: every task goes through here so the environment is the same everywhere.
#   make run    set up, then `crowdledger up`: local chain, escrow, demo data, indexer, API and web page
#   make test   set up, then run the whole test suite
#   make bench  run the benchmarks under bench/

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PYTHON ?= python3
export PATH := $(ROOT)/node_modules/.bin:$(VENV)/bin:$(PATH)
export SOLCX_BINARY_PATH := $(ROOT)/toolchain/solcx
export PYTHONUNBUFFERED := 1

.PHONY: setup compile test test-contracts coverage run bench bench-gas bench-index bench-audit bench-api lint clean

include make/schemathesis.mk

setup: node_modules/.installed $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

compile: setup
	brownie compile

test: setup schemathesis-setup
	pytest --network anvil $(PYTEST_ARGS)

test-contracts: setup
	pytest --network anvil tests/contracts $(PYTEST_ARGS)

coverage: setup
	brownie test tests/contracts --network anvil --coverage

run: setup
	crowdledger up $(UP_ARGS)

bench: bench-gas bench-index bench-audit bench-api

bench-gas: setup
	python bench/gas.py

bench-index: setup
	python bench/index.py

bench-audit: setup
	python bench/audit.py

bench-api: setup
	python bench/api.py

lint: setup
	ruff check ledger api scripts bench tests

clean:
	rm -rf build reports .pytest_cache
