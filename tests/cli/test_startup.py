"""Start-up: what each command imports before it does anything, and the Alembic fast path.

No timings here (bench/cli.py measures them): these tests pin the module sets, which is what the
timings follow from."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from ledger.db.engine import head_revision, open_database

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["index", "audit", "export", "verify", "publish", "up", "serve"]
# never needed to build the parser
HEAVY = {
    "sqlalchemy",
    "alembic",
    "requests",
    "pydantic",
    "fastapi",
    "starlette",
    "uvicorn",
    "web3",
    "eth_utils",
    "eth_abi",
    "yaml",
    "solcx",
    "api",
    "devnet",
    "msgspec",
    "orjson",
}
# never needed by an index with nothing to do
NOT_FOR_INDEX = {
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "web3",
    "api",
    "devnet",
    "yaml",
    "solcx",
    "scripts",
}

LOADED = "import sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{LOADED}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_building_the_parser_and_every_commands_help_import_nothing_heavy() -> None:
    code = "\n".join(
        ["import contextlib, io", "from cli.main import build_parser", "parser = build_parser()"]
        + [
            f"with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): "
            f"parser.parse_args([{command!r}, '--help'])"
            for command in COMMANDS
        ]
    )
    assert loaded_after(code) & HEAVY == set()
    assert "cli.serve" not in loaded_after("import cli.main")  # no cycle: main does not import serve


def test_help_and_version() -> None:
    helped = subprocess.run([sys.executable, "-m", "cli", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert helped.returncode == 0 and all(command in helped.stdout for command in COMMANDS)
    shown = subprocess.run(
        [sys.executable, "-m", "cli", "--version"], cwd=ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0 and shown.stdout == f"crowdledger {version('crowdledger')}\n"


def test_up_and_the_local_chain_do_not_import_scripts() -> None:
    """scripts/ is not in the wheel: `crowdledger up` must live on devnet/ alone."""
    loaded = loaded_after("import cli.up, devnet.seed, devnet.deploy, devnet.nodes, devnet.checkout")
    assert "scripts" not in loaded


def test_an_index_of_a_new_database_or_with_nothing_to_do_imports_no_alembic_web3_or_api(
    escrow: tuple[str, str], tmp_path: Path
) -> None:
    rpc, address = escrow
    argv = ["index", "--rpc", rpc, "--contract", address, "--db", f"sqlite:///{tmp_path / 'l.db'}", "--quiet"]
    run = f"from cli.main import main\nassert main({argv!r}) == 0"
    assert loaded_after(run) & NOT_FOR_INDEX == set()  # a new database: its schema is created at once
    assert loaded_after(run) & NOT_FOR_INDEX == set()  # then nothing to do


def test_the_newest_revision_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from ledger.db.engine import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [head_revision()]


def test_a_database_behind_the_newest_revision_is_migrated(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from ledger.db.engine import alembic_config, is_current

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    assert not is_current(engine)
    engine.dispose()
    upgraded = open_database(url)
    assert is_current(upgraded)
    with upgraded.connect() as connection:
        assert (
            connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
        )
    upgraded.dispose()


def write_revisions(folder: Path, *revisions: tuple[str, str | None, str]) -> Path:
    folder.mkdir()
    for revision, parent, extra in revisions:
        (folder / f"{revision}_x.py").write_text(
            f'"""a migration"""\nrevision: str = "{revision}"\ndown_revision = {parent!r}\n{extra}\n'
        )
    return folder


def test_only_a_plain_line_of_revisions_has_a_head_without_alembic(tmp_path: Path) -> None:
    assert (
        head_revision.__wrapped__(write_revisions(tmp_path / "line", ("a", None, ""), ("b", "a", ""))) == "b"
    )
    two_heads = write_revisions(tmp_path / "two", ("a", None, ""), ("b", "a", ""), ("c", "a", ""))
    labelled = write_revisions(tmp_path / "label", ("a", None, ""), ("b", "a", "branch_labels = ('x',)"))
    merge = write_revisions(tmp_path / "merge", ("a", None, ""), ("b", "a", ""), ("c", "a", ""))
    (merge / "d_x.py").write_text('revision = "d"\ndown_revision = ("b", "c")\n')
    broken = write_revisions(tmp_path / "broken", ("a", None, ""))
    (broken / "b_x.py").write_text('revision = "b"\ndown_revision = "a\n')
    for folder in (two_heads, labelled, merge, broken):
        assert head_revision.__wrapped__(folder) is None, folder
