# Schemathesis (property-based API testing from /openapi.json) needs newer pins than eth-brownie
# allows in .venv, so it lives in its own virtual environment. Include from the Makefile:
#     include make/schemathesis.mk
# and make `test` depend on schemathesis-setup; tests/api/test_schemathesis.py runs its CLI.

SCHEMATHESIS_VENV := $(ROOT)/.venv-schemathesis
SCHEMATHESIS_SPEC ?= schemathesis>=4.30,<5

.PHONY: schemathesis-setup

schemathesis-setup: $(SCHEMATHESIS_VENV)/.installed

$(SCHEMATHESIS_VENV)/.installed: $(ROOT)/make/schemathesis.mk
	test -x $(SCHEMATHESIS_VENV)/bin/python || $(PYTHON) -m venv $(SCHEMATHESIS_VENV)
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet --upgrade pip
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet "$(SCHEMATHESIS_SPEC)"
	$(SCHEMATHESIS_VENV)/bin/schemathesis --version
	touch $@
