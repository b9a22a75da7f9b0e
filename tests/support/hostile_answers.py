"""Hand-made and random eth_getLogs answers for the decoder's tests: mostly well-formed ledger
events, sometimes odd (whitespace, escapes, duplicate keys, extra members) and sometimes hostile
(wrong types, bad hex, missing fields, truncated or changed bytes)."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson

from ledger.chain.events import TOPIC_OF
from ledger.core.records import Kind

# ------------------------------------------------------------------------------------ writing JSON


class Raw(str):
    """A JSON token written as is (numbers, and anything deliberately odd)."""


class Obj(list):
    """A JSON object as its (key, value) members, in order and duplicates kept."""


def space(rng: random.Random, odd: bool) -> str:
    if not odd or rng.random() < 0.6:
        return ""
    return rng.choice([" ", "\n", "\t", "\r\n", "  ", "\n\t\t", " \r"])


def string(s: str, rng: random.Random, escape: float) -> str:
    """s as a JSON string, each character escaped with probability `escape` (some always are)."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(
                rng.choice(["\\u%04x" % ord(ch), {"\n": "\\n", "\t": "\\t"}.get(ch, "\\u%04X" % ord(ch))])
            )
        elif escape and rng.random() < escape:
            if ch == "/":
                out.append("\\/")
            elif ord(ch) > 0xFFFF:  # a surrogate pair
                v = ord(ch) - 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
            else:
                out.append(rng.choice(["\\u%04x", "\\u%04X"]) % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dump(v: Any, rng: random.Random, odd: bool, escape: float = 0.0) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, str):
        return string(v, rng, escape)
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    sep = lambda: space(rng, odd)  # noqa: E731
    if isinstance(v, Obj):
        members = [
            sep() + string(k, rng, escape) + sep() + ":" + sep() + dump(x, rng, odd, escape) + sep()
            for k, x in v
        ]
        return "{" + (",".join(members) if members else sep()) + "}"
    if isinstance(v, list):
        items = [sep() + dump(x, rng, odd, escape) + sep() for x in v]
        return "[" + (",".join(items) if items else sep()) + "]"
    raise TypeError(v)


def hexes(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def word(value: int) -> str:
    return value.to_bytes(32, "big").hex()


# ------------------------------------------------------------------------------------ random answers

_WORDS = {
    Kind.PLEDGED: 3,
    Kind.UNPLEDGED: 3,
    Kind.REFUNDED: 3,
    Kind.CAMPAIGN_CREATED: 8,
    Kind.CLAIMED: 4,
    Kind.CANCELLED: 2,
    Kind.DISCLOSED: 3,
}
_KIND_WEIGHTS = [
    (Kind.PLEDGED, 40),
    (Kind.UNPLEDGED, 10),
    (Kind.REFUNDED, 10),
    (Kind.CAMPAIGN_CREATED, 6),
    (Kind.CLAIMED, 5),
    (Kind.CANCELLED, 4),
    (Kind.DISCLOSED, 3),
    (None, 3),
]
ODD_INTS = [
    "0x",
    "0x0",
    "0X1f",
    "0x000a",
    "1f",
    "A",
    " 0x1",
    "0x1 ",
    "0x1_0",
    "-0x1",
    "+0x5",
    "0x" + "f" * 70,
    "0x" + "0" * 70 + "1",
    "0xzz",
    "",
    Raw("5"),
    Raw("1e5"),
    None,
    Raw("true"),
    Obj(),
    [],
]
NUMBERS = [
    "0",
    "-0",
    "1e5",
    "-0.5",
    "1E+2",
    "2.5e-3",
    "123456789012345678901234567890",
    "1.5e300",
    "1e308",
    "1e400",
    "-1e-400",
    "0.000001",
    "1" * 80,
    "1e301",
    "12e299",
    "9" * 300,
    "18446744073709551616",
    "-9223372036854775809",
]
EXTRAS = [
    Raw("1e5"),
    Raw("-0.5"),
    Raw("0"),
    True,
    False,
    None,
    "plain",
    'tab\there "quoted" \\ /slash',
    Obj([("a", [1, 2, Obj([("b", None)])]), ("c", Raw("-12.5e-3"))]),
    [[], Obj(), [Raw("3.25")]],
]
NON_ASCII = ["\u00e9t\u00e9", "\U0001f600", "0x\u0661"]  # written as such or, in escaped runs, as escapes


def weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]


def random_log(rng: random.Random) -> tuple[Obj, str]:
    """One log object, mostly a well-formed ledger event, and a note of its oddities."""
    kind = weighted(rng, _KIND_WEIGHTS)
    topic0 = TOPIC_OF[kind] if kind is not None else "0x" + hexes(rng, 64)
    campaign = rng.choice([1, 7, 2**64 + 1, 2**255 + 3, rng.randrange(2**256)])
    topics = [topic0, "0x" + word(campaign), "0x" + "00" * 12 + hexes(rng, 40)]
    n_words = _WORDS.get(kind, 3)
    amount = rng.choice([0, 1, 10**18, 2**64, 2**256 - 1, rng.randrange(2**256)])
    words = [word(amount)] + [word(rng.randrange(2**64)) for _ in range(n_words - 3)]
    if kind == Kind.CAMPAIGN_CREATED:
        topics.append("0x" + "00" * 12 + hexes(rng, 40))
        words[3] = word(rng.randrange(2))  # keep_it_all
    words += [word(rng.choice([1, 2, 2**40, 2**64 - 1, 2**64])), hexes(rng, 64)]  # seq, head
    data = "0x" + "".join(words)
    ts = rng.choice(
        [hex(rng.randrange(2**32)), hex(rng.randrange(2**32)), "absent", None, "", "0x0", "0x00", "0X1"]
    )
    members: dict[str, Any] = {
        "address": "0x" + hexes(rng, 40),
        "topics": topics,
        "data": data,
        "blockHash": "0x" + hexes(rng, 64),
        "blockNumber": hex(rng.randrange(2 ** rng.choice([8, 24, 64]))),
        "blockTimestamp": ts,
        "transactionHash": "0x" + hexes(rng, 64),
        "transactionIndex": hex(rng.randrange(50)),
        "logIndex": hex(rng.randrange(3000)),
        "removed": False,
    }
    notes = []
    if ts == "absent":
        del members["blockTimestamp"]
    for _ in range(rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3])):
        what = rng.choice(MUTATIONS)
        try:
            what(rng, members)
        except (TypeError, KeyError, IndexError, AttributeError, ValueError):  # after an earlier mutation
            continue
        notes.append(what.__name__)
    pairs = Obj(members.items())
    if rng.random() < 0.5:
        rng.shuffle(pairs)
    if rng.random() < 0.15:  # an earlier duplicate of a member (the last one wins)
        key = rng.choice(["topics", "data", "blockNumber", "logIndex", "blockHash", "blockTimestamp", "x"])
        pairs.insert(0, (key, rng.choice(ODD_INTS + EXTRAS)))
        notes.append("dup first " + key)
    if rng.random() < 0.05:  # a later duplicate: it wins
        key = rng.choice(["topics", "data", "blockNumber", "logIndex", "transactionHash", "blockTimestamp"])
        value = members.get(key, "0x1") if rng.random() < 0.5 else rng.choice(ODD_INTS + EXTRAS)
        pairs.append((key, value))
        notes.append("dup last " + key)
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        pairs.insert(
            rng.randrange(len(pairs) + 1), (rng.choice(["extra", "k", "removed", ""]), rng.choice(EXTRAS))
        )
        notes.append("extra")
    if rng.random() < 0.015:
        pairs.insert(rng.randrange(len(pairs) + 1), (rng.choice(["text", "logIndex"]), rng.choice(NON_ASCII)))
        notes.append("non-ASCII")
    return pairs, ",".join(notes)


def topics_of(m: dict[str, Any]) -> list[Any]:
    """The topics list, if an earlier mutation left one (else TypeError: the mutation is skipped)."""
    if type(m.get("topics")) is not list:
        raise TypeError("no topics list")
    return m["topics"]


def _upper(rng: random.Random, m: dict[str, Any]) -> None:
    m["data"] = "0x" + m["data"][2:].upper()
    m["topics"] = topics_of(m)[:1] + ["0x" + t[2:].upper() for t in topics_of(m)[1:]]


def _upper_topic0(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = [topics_of(m)[0].upper()] + topics_of(m)[1:]


def _odd_int(rng: random.Random, m: dict[str, Any]) -> None:
    m[rng.choice(["blockNumber", "logIndex", "blockTimestamp"])] = rng.choice(ODD_INTS)


def _odd_campaign(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = [topics_of(m)[0], rng.choice(ODD_INTS)] + topics_of(m)[2:]


def _odd_account(rng: random.Random, m: dict[str, Any]) -> None:
    t = topics_of(m)
    m["topics"] = t[:2] + [rng.choice(["0xabc", "", t[2] + "ff", t[2][2:], Raw("7"), None])] + t[3:]


def _topic_count(rng: random.Random, m: dict[str, Any]) -> None:
    t = topics_of(m)
    m["topics"] = rng.choice([t[:2], t + [t[1]], [], t[:1], t + t])


def _topics_not_a_list(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = rng.choice([Raw("5"), topics_of(m)[0], Obj([("0", topics_of(m)[0])]), None])


def _data_length(rng: random.Random, m: dict[str, Any]) -> None:
    d = m["data"]
    m["data"] = rng.choice([d[:-64], d + "00" * 32, d[:-1], d + "0", "0x", ""])


def _data_not_hex(rng: random.Random, m: dict[str, Any]) -> None:
    d = m["data"]
    at = rng.randrange(len(d))
    m["data"] = rng.choice(
        [d[:at] + rng.choice("zZ_ -g") + d[at + 1 :], "zz" + d[2:], "0X" + d[2:], d[2:] + "00"]
    )


def _data_not_a_string(rng: random.Random, m: dict[str, Any]) -> None:
    m["data"] = rng.choice([None, Raw("0"), [m["data"]], Raw("true")])


def _hashes(rng: random.Random, m: dict[str, Any]) -> None:
    m[rng.choice(["blockHash", "transactionHash"])] = rng.choice([None, Raw("1"), "", "0xAB", Obj(), "x\ty"])


def _missing(rng: random.Random, m: dict[str, Any]) -> None:
    m.pop(rng.choice(["topics", "data", "blockNumber", "blockHash", "transactionHash", "logIndex"]), None)


def _unknown_topic0(rng: random.Random, m: dict[str, Any]) -> None:
    m["topics"] = ["0x" + hexes(rng, 64)] + topics_of(m)[1:]


def _other_kind(rng: random.Random, m: dict[str, Any]) -> None:  # a kind whose shape is not this log's
    m["topics"] = [TOPIC_OF[rng.choice(list(Kind))]] + topics_of(m)[1:]


def _removed(rng: random.Random, m: dict[str, Any]) -> None:
    m["removed"] = True


MUTATIONS = [
    _upper,
    _upper_topic0,
    _odd_int,
    _odd_int,
    _odd_campaign,
    _odd_account,
    _topic_count,
    _topics_not_a_list,
    _data_length,
    _data_not_hex,
    _data_not_a_string,
    _hashes,
    _missing,
    _unknown_topic0,
    _other_kind,
    _removed,
]


def random_answer(rng: random.Random) -> tuple[bytes, str]:
    """One eth_getLogs answer body (mostly valid, sometimes not) and a note of how it was made."""
    odd = rng.random() < 0.5  # whitespace
    escape = 0.0 if rng.random() < 0.7 else rng.choice([0.01, 0.1, 0.5])  # escaped keys and values
    logs = [random_log(rng) for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8]))]
    result: Any = [Raw(dump(log, rng, odd, escape)) for log, _ in logs]
    notes = [note for _, note in logs if note]
    if rng.random() < 0.04:
        result.insert(rng.randrange(len(result) + 1), rng.choice([Raw("1"), "x", None, [], [Obj()], True]))
        notes.append("non-object element")
    envelope = Obj(
        [("jsonrpc", "2.0"), ("id", rng.choice([1, 7, Raw("1e5"), "abc", None])), ("result", result)]
    )
    if rng.random() < 0.3:
        rng.shuffle(envelope)
    roll = rng.random()
    if roll < 0.03:
        envelope.append(("error", Obj([("code", Raw("-32005")), ("message", "limit exceeded")])))
        notes.append("error member")
    elif roll < 0.06:
        envelope[:] = [(k, v) for k, v in envelope if k != "result"]
        notes.append("no result")
    elif roll < 0.09:
        envelope.append(("result", rng.choice([None, Obj(), [], result])))
        notes.append("two results")
    elif roll < 0.11:
        envelope[:] = [
            (k, rng.choice([None, Obj(), "x", Raw("3")]) if k == "result" else v) for k, v in envelope
        ]
        notes.append("result not an array")
    elif roll < 0.15:
        envelope.insert(rng.randrange(len(envelope) + 1), (rng.choice(["extra", "meta"]), rng.choice(EXTRAS)))
    text = space(rng, odd) + dump(envelope, rng, odd, escape if rng.random() < 0.1 else 0.0) + space(rng, odd)
    body = text.encode()
    roll = rng.random()
    if roll < 0.04:
        body = body[: rng.randrange(len(body))]
        notes.append("truncated")
    elif roll < 0.08:
        at = rng.randrange(len(body))
        body = body[:at] + bytes([rng.randrange(256)]) + body[at + rng.choice([0, 1]) :]
        notes.append("byte changed")
    elif roll < 0.10:
        body = rng.choice([b"\xef\xbb\xbf", b"x", b"[", b"", b"\x0c"]) + body
        notes.append("prefix")
    elif roll < 0.12:
        body = body + rng.choice([b"x", b"}", b",", b"\x00", b" {}"])
        notes.append("suffix")
    elif roll < 0.15:
        number = rng.choice(NUMBERS)
        body = body.replace(b'"removed":false', b'"removed":' + number.encode(), 1)
        notes.append("number " + number)
    return body, ";".join(notes) + (" escaped %.2f" % escape if escape else "")


# ------------------------------------------------------------------------------------ chosen bodies


def pledge_log(seq: int = 5, **changes: Any) -> dict[str, Any]:
    """An anvil-shaped Pledged log dict."""
    log: dict[str, Any] = {
        "address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "topics": [
            TOPIC_OF[Kind.PLEDGED],
            "0x" + word(3),
            "0x" + "00" * 12 + "70997970c51812dc3a010c7d01b50e0d17dc79c8",
        ],
        "data": "0x" + word(10**18) + word(seq) + "ab" * 32,
        "blockHash": "0x" + "16" * 32,
        "blockNumber": "0x2",
        "blockTimestamp": "0x6b0292fe",
        "transactionHash": "0x" + "38" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x0",
        "removed": False,
    }
    log.update(changes)
    return log


def answer(logs: list[Any], **envelope: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "result": logs, **envelope}


def chosen_bodies() -> dict[str, bytes]:
    plain = pledge_log()
    created = dict(
        plain,
        topics=[TOPIC_OF[Kind.CAMPAIGN_CREATED]] + plain["topics"][1:] + [plain["topics"][2]],
        data="0x"
        + word(10**20)
        + word(2**40)
        + word(0)
        + word(1)
        + word(250)
        + "cd" * 32
        + word(1)
        + "ef" * 32,
    )
    no_ts = {k: v for k, v in plain.items() if k != "blockTimestamp"}
    ganache = {
        k: no_ts[k]
        for k in [
            "logIndex",
            "transactionIndex",
            "transactionHash",
            "blockHash",
            "blockNumber",
            "address",
            "data",
            "topics",
            "removed",
        ]
    }
    bad = dict(plain, data=plain["data"][:-64])
    bodies = {
        "anvil": orjson.dumps(answer([plain, pledge_log(6, logIndex="0x1")])),
        "empty result": orjson.dumps(answer([])),
        "300 logs (scanned without the GIL)": orjson.dumps(
            answer([pledge_log(i, logIndex=hex(i)) for i in range(300)] + [created])
        ),
        "other kinds": orjson.dumps(answer([created, plain])),
        "ganache order, no timestamp": orjson.dumps({"id": 1, "jsonrpc": "2.0", "result": [ganache]}),
        "geth pretty": json.dumps(answer([plain, no_ts]), indent=2).encode(),
        "tabs and CRLF": json.dumps(answer([plain]), indent="\t").replace("\n", "\r\n").encode(),
        "a malformed pledge": orjson.dumps(answer([plain, bad, created])),
        "escaped key": orjson.dumps(answer([plain])).replace(b'"topics"', b'"top\\u0069cs"'),
        "escaped value": orjson.dumps(answer([plain])).replace(b'"blockHash":"0x', b'"blockHash":"\\u0030x'),
        "escaped hex in data": orjson.dumps(answer([plain])).replace(b'"data":"0x0', b'"data":"0x\\u0030'),
        "escaped key in the envelope": orjson.dumps(answer([plain])).replace(b'"result"', b'"r\\u0065sult"'),
        "escaped error key": orjson.dumps(answer([plain], err=1)).replace(b'"err"', b'"\\u0065rror"'),
        "duplicate topics, last wins": orjson.dumps(answer([plain])).replace(
            b'{"address"', b'{"topics":7,"address"'
        ),
        "duplicate data, last is bad": orjson.dumps(answer([plain])).replace(
            b',"removed"', b',"data":"0x","removed"'
        ),
        "error": orjson.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "too many"}}),
        "error and result": orjson.dumps(answer([plain], error=None)),
        "no result": orjson.dumps({"jsonrpc": "2.0", "id": 1}),
        "null result": orjson.dumps(answer(None)),  # type: ignore[arg-type]
        "result twice": orjson.dumps(answer([plain]))[:-1] + b',"result":[]}',
        "non-object element": orjson.dumps(answer([plain, 5])),
        "numbers": orjson.dumps(answer([dict(plain, x=[1e5, -0.5, 0, 2**63])])).replace(b"100000.0", b"1e5"),
        "number 1e400": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":1e400'),
        "number -1e-400": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":-1e-400'),
        "non-ASCII value": orjson.dumps(answer([dict(plain, x="\u00e9")])),
        "non-ASCII escaped": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\\u00e9"'),
        "surrogate pair": orjson.dumps(answer([dict(plain, x="x")])).replace(
            b'"x":"x"', b'"x":"\\ud83d\\ude00"'
        ),
        "lone surrogate": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\\ud83d"'),
        "control character": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\x01"'),
        "invalid UTF-8": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\xff"'),
        "deep 60": orjson.dumps(answer([dict(plain, x=1)])).replace(
            b'"x":1', b'"x":' + b"[" * 60 + b"]" * 60
        ),
        "deep 70": orjson.dumps(answer([dict(plain, x=1)])).replace(
            b'"x":1', b'"x":' + b"[" * 70 + b"]" * 70
        ),
        "deep 2000": orjson.dumps(answer([dict(plain, x=1)])).replace(
            b'"x":1', b'"x":' + b"[" * 2000 + b"]" * 2000
        ),
        "truncated": orjson.dumps(answer([plain]))[:-2],
        "trailing garbage": orjson.dumps(answer([plain])) + b"x",
        "trailing comma": orjson.dumps(answer([plain]))[:-2] + b",]}",
        "top-level array": orjson.dumps([answer([plain])]),
        "empty body": b"",
        "whitespace body": b" \n",
        "not JSON": b"<html>502 Bad Gateway</html>",
        "BOM": b"\xef\xbb\xbf" + orjson.dumps(answer([plain])),
        "form feed": b"\x0c" + orjson.dumps(answer([plain])),
        "NaN": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":NaN'),
        "leading zero": orjson.dumps(answer([dict(plain, x=1)])).replace(b'"x":1', b'"x":01'),
        "bad escape": orjson.dumps(answer([dict(plain, x="x")])).replace(b'"x":"x"', b'"x":"\\x"'),
    }
    return bodies
