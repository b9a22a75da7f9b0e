"""The API's settings: CROWDLEDGER_* variables under the options given, and a value that is not
valid stops the process at start-up with a message naming the variable (or the option) it came from."""

from __future__ import annotations

import pytest

from api.core.config import Settings
from ledger.errors import ConfigError

ADDRESS = "0x5fbdb2315678afecb367f032d93f642f64180aa3"


def test_settings_come_from_the_environment_under_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWDLEDGER_DB_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("CROWDLEDGER_FINALITY_DEPTH", "7")
    monkeypatch.setenv("CROWDLEDGER_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("CROWDLEDGER_CONTRACT", ADDRESS)
    monkeypatch.setenv("CROWDLEDGER_RPC_URL", "")  # empty: not set
    monkeypatch.setenv("CROWDLEDGER_TEST_PG_URL", "not a setting of the API")
    settings = Settings.from_env(finality_depth=3, rpc_url=None)
    assert settings.db_url == "sqlite:///from-env.db" and settings.finality_depth == 3
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.contract == "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # checksummed
    assert settings.rpc_url is None and settings.audit_interval == 300.0


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CROWDLEDGER_DB_URL", "mysql://x/y", "unsupported database"),
        ("CROWDLEDGER_DB_URL", "nonsense", "not a database URL"),
        ("CROWDLEDGER_RPC_URL", "ftp://node", "not an http(s) JSON-RPC URL"),
        ("CROWDLEDGER_CONTRACT", "0x1234", "not an address"),
        ("CROWDLEDGER_CONTRACT", "0x5FBdb2315678afecb367f032d93F642f64180aa3", "checksum"),
        ("CROWDLEDGER_FINALITY_DEPTH", "-1", "greater than or equal to 0"),
        ("CROWDLEDGER_POLL_INTERVAL", "soon", "valid number"),
    ],
)
def test_an_invalid_variable_is_named_at_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"invalid setting {variable}: ") as raised:
        Settings.from_env()
    assert words in str(raised.value)


def test_an_invalid_option_is_named_as_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWDLEDGER_FINALITY_DEPTH", "5")
    with pytest.raises(ConfigError, match="invalid setting finality_depth: "):
        Settings.from_env(finality_depth=-2)
    monkeypatch.setenv("CROWDLEDGER_AUDIT_INTERVAL", "-1")
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(poll_interval=0)
    assert str(raised.value).split("; ") == [
        "invalid setting poll_interval: Input should be greater than 0",
        "invalid setting CROWDLEDGER_AUDIT_INTERVAL: Input should be greater than or equal to 0",
    ]
