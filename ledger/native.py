"""The one import point of the C speedups (ledger/_speedups.c), built by `pip install -e .`.

`available` says whether they are used: False when the extension was not built (a checkout used
without installing, a machine without a C compiler) or when CROWDLEDGER_NO_SPEEDUPS=1 is set, and
then every caller runs its pure-Python reference code. Callers read `native.available` at call
time, so a test can switch the C path off with `monkeypatch.setattr(native, "available", False)`.

The C functions only take the exact, common shape of their input and hand everything else back to
the Python reference code, so results, findings and error messages are the same either way:

- `keccak256(data) -> bytes`
- `replay_ndjson(buffer, pos, head, length, last_block, campaigns, positions, new_position)`:
  ledger.replay.Replayer.feed_ndjson (the offline replay of canonical kind-2/3 export lines)
- `decode_logs(logs, topics, kinds, zero_word, entry_type, fallback)`: ledger.events.decode_logs
- `decode_logs_answer(body, topics, kinds, zero_word, entry_type, fallback) -> (entries, start, end)
  | None`: ledger.events.parse_logs_answer (decode_logs straight from the JSON bytes of an
  eth_getLogs answer; None for anything but plain ASCII JSON with one "result" array of objects)
- `verify_chain(head, length, entries, start, entry_type)`: ledger.chain.HashChain.append_many
- `entry_jsons(entries, kind_names) -> list`: ledger.public.entry_jsons (the stored public JSON
  text of each entry, None where the entry is not of the common shape)
- `record_rows(records, names, wide) -> list | None`: ledger.db.store._FastSql.rows on SQLite (a
  batch's projection rows, uint256 values as 78-digit text)
- `entry_rows(entries, final_block, texts, entry_type, u256_text) -> list | None`:
  ledger.db.store.entry_rows (a batch's ledger_entries rows)
"""

from __future__ import annotations

import os
from typing import Any

try:
    from ledger import _speedups as _module
except ImportError:  # not built: the Python reference code does everything
    _module = None

compiled: bool = _module is not None
"""Whether the extension is importable (whatever the environment says)."""

disabled: bool = os.environ.get("CROWDLEDGER_NO_SPEEDUPS", "").strip().lower() not in ("", "0", "false", "no")
"""CROWDLEDGER_NO_SPEEDUPS=1: force the Python path."""

available: bool = compiled and not disabled

keccak256: Any = getattr(_module, "keccak256", None)
replay_ndjson: Any = getattr(_module, "replay_ndjson", None)
decode_logs: Any = getattr(_module, "decode_logs", None)
decode_logs_answer: Any = getattr(_module, "decode_logs_answer", None)
verify_chain: Any = getattr(_module, "verify_chain", None)
entry_jsons: Any = getattr(_module, "entry_jsons", None)
record_rows: Any = getattr(_module, "record_rows", None)
entry_rows: Any = getattr(_module, "entry_rows", None)
