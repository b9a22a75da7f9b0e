"""The C speedups (ledger/_speedups.c, ledger/_sqlite_bulk.c); everything else is in pyproject.toml.

The extensions are optional: where it cannot be compiled the install still succeeds and
ledger.native falls back to the pure-Python code (tests/ledger/test_native.py fails loudly if it
was not built, so CI notices).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("ledger._speedups", sources=["ledger/_speedups.c"], optional=True),
        Extension("ledger._sqlite_bulk", sources=["ledger/_sqlite_bulk.c"], optional=True),
    ]
)
