"""The node client's retry budget, waited out by tenacity (ledger.chain.rpc)."""

from __future__ import annotations

from dataclasses import dataclass

import tenacity

from ledger.chain.rpc_errors import Transient
from ledger.errors import ConfigError

__all__ = ["RetryPolicy"]

# A kept-alive connection the server closed while idle fails once this way: retry at once.
_STALE_CONNECTION = {"connection closed by the server", "connection reset", "connection closed (broken pipe)"}


@dataclass(frozen=True)
class RetryPolicy:
    """A bounded retry budget: at most `attempts` tries (the first included) within
    `total_timeout` seconds, sleeping base_delay * 2**n (capped at max_delay, with jitter). The
    default ends a call to a node that never finishes its answers within two minutes."""

    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 8.0
    total_timeout: float = 110.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"RetryPolicy.attempts must be >= 1, got {self.attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ConfigError("RetryPolicy delays must not be negative")
        if self.total_timeout <= 0:
            raise ConfigError(f"RetryPolicy.total_timeout must be > 0, got {self.total_timeout}")

    def wait(self, state: tenacity.RetryCallState) -> float:
        """tenacity's wait: the node's Retry-After when it gave one, at once after a kept-alive
        connection the node had closed, else exponential backoff with jitter."""
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, Transient):
            if failure.retry_after is not None:
                return failure.retry_after
            if state.attempt_number == 1 and failure.reason in _STALE_CONNECTION:
                return 0.0
        return self._backoff(state)

    @property
    def _backoff(self) -> tenacity.wait.wait_base:
        return tenacity.wait_exponential_jitter(
            multiplier=self.base_delay, max=self.max_delay, jitter=self.base_delay
        )
