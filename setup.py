"""The C speedups (ledger/_speedups.c); everything else is in pyproject.toml.

The extension is optional: where it cannot be compiled the install still succeeds and
ledger.native falls back to the pure-Python code (tests/ledger/test_native.py fails loudly if it
was not built, so CI notices).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("ledger._speedups", sources=["ledger/_speedups.c"], optional=True)])
