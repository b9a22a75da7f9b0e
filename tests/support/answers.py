"""Record what a function answers while a test runs."""

from __future__ import annotations

from typing import Any

import pytest


def record_answers(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Wrap `owner.name` for the test so that each call's return value is appended to the list
    returned here (e.g. which batches the C module took and which it declined)."""
    answers: list[Any] = []
    original = getattr(owner, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        answers.append(original(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(owner, name, recorded)
    return answers
