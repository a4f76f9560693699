"""Splitting a fleet across processes: ``--shard K/N``.

An account belongs to shard ``sha256(account id) mod N``. The hash is stable (the same in
every process, on every machine, in every release: Python's own ``hash()`` is salted per
process, so it would not do), and it depends only on the account's id, so an account keeps
its shard while others come and go. N processes given ``0/N`` to ``N-1/N`` therefore cover
every account exactly once: a Kubernetes Indexed Job whose completion index picks the shard
needs no scheduler of ours.

The caption library belongs to the user, not to an account: shard 0 manages it, the others
leave it alone.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from orchestrator.contract import DesiredState

#: The environment variable ``--shard`` reads when the option is not given.
SHARD_ENV = "SHARINGTOOLS_SHARD"

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


class ShardError(ValueError):
    """A ``--shard`` value that is not ``K/N`` with 0 <= K < N."""


def shard_of(account_id: int, count: int) -> int:
    """The shard (0 to ``count`` - 1) that owns ``account_id``: sha256 of its decimal id."""
    if count < 1:
        raise ShardError(f"a fleet has at least one shard, not {count}")
    digest = hashlib.sha256(str(int(account_id)).encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the accounts this process manages."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ShardError(f"shard {self.index}/{self.count} does not exist: use K/N with 0 <= K < N, e.g. 0/4")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` -> ``Shard(2, 4)``. Shards count from 0, as Kubernetes completion indexes do."""
        match = _SPEC.fullmatch(text)
        if match is None:
            raise ShardError(f"--shard {text!r} is not K/N: write the shard index and the number of shards, e.g. 0/4")
        return cls(int(match[1]), int(match[2]))

    @property
    def owns_library(self) -> bool:
        """Whether this shard manages the user-level caption library (shard 0 does)."""
        return self.index == 0

    def owns(self, account_id: int) -> bool:
        return shard_of(account_id, self.count) == self.index

    def manages(self, account_id: int) -> bool:
        """Whether a change of ``account_id`` is this shard's (0 stands for the caption library in plans)."""
        return self.owns_library if account_id == 0 else self.owns(account_id)

    def select(self, desired: DesiredState) -> DesiredState:
        """The desired state restricted to this shard's accounts (and the library on shard 0).
        Its ``managed`` stays the whole fleet's: percentage limits are of the fleet, not the shard."""
        return replace(
            desired,
            fleet_size=desired.managed,
            by_account={a: kinds for a, kinds in desired.by_account.items() if self.owns(a)},
            captions=desired.captions if self.owns_library else None,
        )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
