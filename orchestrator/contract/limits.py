"""Safety limits: a `Limit` (a count or a percentage) and the playbook's merged `Policy`."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.contract.sourced import Sourced

#: The limits a ``policy:`` section may set, besides ``waves``.
POLICY_LIMITS = ("max_pauses", "max_deletions", "max_target_removals", "max_settings_updates",
                 "max_activations", "max_fail")
#: Posts one account may publish in any 24 hours, unless ``policy: max_posts_per_day`` says otherwise.
DEFAULT_POSTS_PER_DAY = 25


@dataclass(frozen=True)
class Limit:
    """A safety threshold: an absolute count, or a percentage of what plan considers."""

    amount: float
    percent: bool = False

    def of(self, total: int) -> int:
        """The threshold as a count, given ``total`` (accounts, targets, ...) under consideration."""
        if not self.percent:
            return int(self.amount)
        return int(total * self.amount / 100)

    def __str__(self) -> str:
        if self.percent:
            return f"{self.amount:g}%"
        return str(int(self.amount))


@dataclass(frozen=True)
class Policy:
    """Safety limits for apply: the ``policy:`` sections merged key by key, later files winning.

    Each limit is a `Limit` (a count, or a percentage of what plan considers) with the position
    that set it; ``waves`` is a number of waves or a list of cumulative wave sizes.
    """

    max_pauses: Sourced[Limit] | None = None
    max_deletions: Sourced[Limit] | None = None
    max_target_removals: Sourced[Limit] | None = None
    max_settings_updates: Sourced[Limit] | None = None
    max_activations: Sourced[Limit] | None = None
    max_fail: Sourced[Limit] | None = None
    waves: Sourced[int | tuple[Limit, ...]] | None = None
    # Reconcile: drift of these kinds or kind.paths is reported, not fixed (``report``).
    drift: Sourced[dict[str, str]] | None = None
    # A publishing quota: posts per account in any 24 hours, checked by plan (not a `Limit`:
    # it counts one account's posts, not a share of the fleet).
    max_posts_per_day: Sourced[int] | None = None

    @property
    def posts_per_day(self) -> int:
        return self.max_posts_per_day.value if self.max_posts_per_day is not None else DEFAULT_POSTS_PER_DAY

    def limits(self) -> dict[str, Sourced[Limit]]:
        """The limits that are set, by name."""
        return {name: value for name in POLICY_LIMITS if (value := getattr(self, name)) is not None}
