"""The safety policy: how much one apply may change before a person has to say so.

Agencies fear a typo that pauses or rewrites five hundred accounts at once. Like octoDNS's
``Plan.raise_if_unsafe``, every threshold lives here, in one place:

- limits by class of change, each a count or a percentage of the accounts the playbooks
  manage: ``max_pauses``, ``max_activations``, ``max_settings_updates`` (accounts),
  ``max_target_removals`` and ``max_deletions`` (items);
- a guard against a ``prune`` whose desired set is empty (it would remove everything);
- overrides acknowledged per scope: ``--allow pause:fashion`` lets pauses of the accounts of
  group ``fashion`` (or kind ``fashion``, or account ``fashion``) through, and nothing else.
  There is no global force.

Limits come from the playbook's ``policy:``, then from ``--policy name=value`` flags.
A blocked run changes nothing and exits 3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from orchestrator.contract import LIBRARY_ID, DesiredState, Kind, Limit, ScheduleDesired
from orchestrator.plan import Change

# Defaults stop a mass pause or a mass deletion; the others are unlimited unless set.
DEFAULT_LIMITS: dict[str, Limit] = {
    "max_pauses": Limit(20, percent=True),
    "max_deletions": Limit(10),
    "max_target_removals": Limit(100),
}
CLASSES = {
    "max_pauses": ("pause", ("pause", "stop")),
    "max_activations": ("activate", ("activate", "start")),
    "max_settings_updates": ("update", ("update", "set")),
    "max_target_removals": ("remove", ("remove",)),
    "max_deletions": ("delete", ("delete",)),
}
COUNTS_ACCOUNTS = {"max_pauses", "max_activations", "max_settings_updates"}
ALLOW = re.compile(r"^(pause|activate|update|remove|delete|prune):([A-Za-z0-9_.\-]+)$")


class PolicyError(ValueError):
    """A malformed ``--allow`` or ``--policy`` value."""


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    allow_hint: str

    def __str__(self) -> str:
        return f"{self.message} (to proceed, narrow the playbook or acknowledge with {self.allow_hint})"


@dataclass
class SafetyPolicy:
    limits: dict[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    allow: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def build(cls, desired: DesiredState, overrides: Iterable[str] = (), allow: Iterable[str] = ()) -> SafetyPolicy:
        policy = cls()
        for name, sourced in desired.policy.limits().items():
            if name in CLASSES:
                policy.limits[name] = sourced.value
        limits, allowed = parse_flags(overrides, allow)
        policy.limits.update(limits)
        policy.allow |= allowed
        return policy

    def check(self, changes: Sequence[Change], desired: DesiredState) -> list[Violation]:
        managed = desired.managed or 1  # the playbook's whole fleet, also under --limit or --shard
        violations: list[Violation] = []
        for rule, (amount, threshold) in self.amounts(changes, desired).items():
            limit = self.limits[rule]
            cls_name = CLASSES[rule][0]
            if amount > threshold:
                unit = "accounts" if rule in COUNTS_ACCOUNTS else "items"
                violations.append(Violation(
                    rule, f"{rule}: the plan would {cls_name} {amount} {unit}, over the limit of {threshold} ({limit}"
                          f"{' of ' + str(managed) + ' managed accounts' if limit.percent else ''})",
                    self.hint(rule, changes, desired)))
        violations += self._empty_prunes(changes, desired, self._members(desired))
        return violations

    def amounts(self, changes: Sequence[Change], desired: DesiredState) -> dict[str, tuple[int, int]]:
        """Per limited rule: (what the plan would do that no ``--allow`` covers, the limit as a
        count of the whole fleet). Shards reserve these amounts of the fleet's allowance."""
        managed = desired.managed or 1
        members = self._members(desired)
        out: dict[str, tuple[int, int]] = {}
        for rule, (cls_name, actions) in CLASSES.items():
            limit = self.limits.get(rule)
            if limit is None:
                continue
            counted = [c for c in changes if c.action in actions and not self._allowed(cls_name, c, members)]
            amount = len({c.account_id for c in counted}) if rule in COUNTS_ACCOUNTS else len(counted)
            out[rule] = (amount, int(limit.of(managed)))
        return out

    def hint(self, rule: str, changes: Sequence[Change], desired: DesiredState) -> str:
        """The ``--allow`` flags that would let ``rule``'s changes through."""
        cls_name, actions = CLASSES[rule]
        scopes = sorted({c.kind for c in changes if c.action in actions})
        return " ".join(f"--allow {cls_name}:{s}" for s in scopes)

    def _members(self, desired: DesiredState) -> dict[str, set[int]]:
        """The account ids of each group an ``--allow`` names, as sets: checked once per change,
        a scan of the group's members would make the check quadratic in fleet size."""
        scopes = {scope for _, scope in self.allow}
        return {name: {a.id for a in accounts} for name, accounts in desired.groups.items() if name in scopes}

    def _allowed(self, cls_name: str, c: Change, members: Mapping[str, set[int]]) -> bool:
        for allowed_cls, scope in self.allow:
            if allowed_cls != cls_name:
                continue
            if scope in (c.kind, c.username):
                return True
            if c.account_id in members.get(scope, ()):
                return True
        return False

    def _empty_prunes(self, changes: Sequence[Change], desired: DesiredState,
                      members: Mapping[str, set[int]]) -> list[Violation]:
        """A prune with an empty desired set removes everything there is: almost always a mistake."""
        out: list[Violation] = []
        removing: dict[tuple[int, Kind], Change] = {}  # the first removal of each (account, kind)
        for c in changes:
            if c.action in ("remove", "delete"):
                removing.setdefault((c.account_id, c.kind), c)
        for (account_id, kind), probe in sorted(removing.items(), key=lambda kv: kv[0]):
            if account_id == LIBRARY_ID:
                captions = desired.captions
                empty = captions is not None and captions.exact and not captions.captions
            else:
                want = desired.get(account_id, kind)
                empty = isinstance(want, ScheduleDesired) and want.exact and not want.targets
                if kind == Kind.FIRST_COMMENT:
                    empty = bool(want is not None and getattr(want, "exact", False) and not want.schedules)  # type: ignore[union-attr]
            if empty and not self._allowed("prune", probe, members):
                name = probe.username
                out.append(Violation(
                    "prune", f"prune: {name} · {kind} would remove everything (prune: true with an empty list)",
                    f"--allow prune:{kind}"))
        return out


def parse_flags(overrides: Iterable[str] = (),
                allow: Iterable[str] = ()) -> tuple[dict[str, Limit], set[tuple[str, str]]]:
    """``--policy NAME=VALUE`` and ``--allow CLASS:SCOPE`` as limits and acknowledgements.
    Needs nothing but the flags, so a command checks them before it connects or prints
    anything; raises `PolicyError` with one line saying what to write."""
    limits: dict[str, Limit] = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or name not in CLASSES:
            raise PolicyError(f"--policy {item!r}: use NAME=VALUE with NAME one of {', '.join(CLASSES)}")
        limits[name] = parse_limit(value, f"--policy {name}")
    allowed: set[tuple[str, str]] = set()
    for item in allow:
        m = ALLOW.match(item.strip())
        if not m:
            raise PolicyError(
                f"--allow {item!r}: use CLASS:SCOPE, CLASS one of pause, activate, update, remove, delete, prune, "
                "and SCOPE a kind, a group or a username (there is no global override)")
        allowed.add((m.group(1), m.group(2)))
    return limits, allowed


def parse_limit(text: str, what: str) -> Limit:
    text = text.strip()
    try:
        if text.endswith("%"):
            amount = float(text[:-1])
            if not 0 <= amount <= 100:
                raise ValueError
            return Limit(amount, percent=True)
        count = int(text)
        if count < 0:
            raise ValueError
        return Limit(count)
    except ValueError:
        raise PolicyError(f"{what}: {text!r} is not a count or a percentage such as 10 or 5%") from None


def waves_of(spec: Sequence[Limit] | int | None, total: int) -> list[int]:
    """Cumulative wave sizes: ``[1, 10%, 100%]`` over 200 accounts is ``[1, 20, 200]``;
    an int ``n`` is n equal waves. Always ends with ``total``."""
    if not spec or total == 0:
        return [total]
    if isinstance(spec, int):
        n = max(1, spec)
        return sorted({-(-total * i // n) for i in range(1, n + 1)})
    sizes: list[int] = []
    for limit in spec:
        size = min(total, max(1, limit.of(total)) if limit.percent else int(limit.amount))
        if size > (sizes[-1] if sizes else 0):
            sizes.append(size)
    if not sizes or sizes[-1] < total:
        sizes.append(total)
    return sizes


def parse_waves(text: str) -> list[Limit]:
    return [parse_limit(part, "--waves") for part in text.split(",") if part.strip()]


def mapping_of(limits: Mapping[str, Limit]) -> dict[str, str]:
    return {k: str(v) for k, v in sorted(limits.items())}
