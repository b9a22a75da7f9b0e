"""CrowdLedger's exception tree. Everything the package raises on purpose derives from
`CrowdLedgerError`; the CLI turns it into one readable line and a non-zero exit.

    CrowdLedgerError
    ├── ConfigError (ValueError)           bad argument, URL, address or deployment file
    ├── NodeError                          the JSON-RPC node did not give a usable answer
    │   ├── NodeUnavailable (ConnectionError)  unreachable, timed out or rate-limited past the retry budget
    │   └── RpcError                       the node answered with a JSON-RPC error
    │       └── RangeTooWide               the provider wants a narrower eth_getLogs range
    ├── NotAnEscrowError                   the address holds no CrowdfundEscrow
    ├── LedgerIntegrityError               a head that does not chain, a seq gap: never stored
    ├── ReorgTooDeepError                  a reorg reached below the finality depth
    └── StorageError                       the database cannot be opened or is inconsistent
        └── DatabaseBusy                   another writer held the database's lock too long
"""

from __future__ import annotations


class CrowdLedgerError(Exception):
    """The root of every error CrowdLedger raises on purpose."""


class ConfigError(CrowdLedgerError, ValueError):
    """A bad argument, URL, address or deployment file."""


class NodeError(CrowdLedgerError):
    """The JSON-RPC node did not give a usable answer."""


class NodeUnavailable(NodeError, ConnectionError):
    """The node could not be reached, timed out or kept rate-limiting past the retry budget."""


class RpcError(NodeError):
    """The node answered a call with a JSON-RPC error."""

    def __init__(self, method: str, code: int | None, message: str, data: object = None) -> None:
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{method} failed: {message} (code {code})")


class RangeTooWide(RpcError):
    """The provider refused an eth_getLogs range as too wide or too many results.
    `suggested_to_block` is the end of a range the provider said would work, if it said."""

    suggested_to_block: int | None = None


class NotAnEscrowError(CrowdLedgerError):
    """The address holds no CrowdfundEscrow contract."""


class LedgerIntegrityError(CrowdLedgerError):
    """The chain's ledger does not verify: a head that does not chain or a seq gap."""


class ReorgTooDeepError(CrowdLedgerError):
    """A reorganisation reached below the finality depth; the database is left untouched."""


class StorageError(CrowdLedgerError):
    """The database cannot be opened, migrated or is not in the state expected."""


class DatabaseBusy(StorageError):
    """Another writer (the indexer) held the database's write lock past the wait allowed."""
