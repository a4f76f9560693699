"""Prometheus metrics of the reconcile loop.

Each ``Reconciler`` owns a ``CollectorRegistry`` (not the process-global one), so a test can
run several and read each one's numbers. ``orchestrator.reconcile.status_server`` serves them
at ``/metrics`` (beside ``/healthz`` and the status page) on ``--metrics-port``;
``write_textfile`` writes the same for node_exporter's textfile collector
(``reconcile --once --metrics-file``).

API requests are counted from the client transport's own statistics (every attempt, by HTTP
status or error, 429 included), as deltas per cycle, so they match what the server answered.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    write_to_textfile,
)

PREFIX = "orchestrator_reconcile"


class ReconcileMetrics:
    """Every metric the loop exports; ``observe_*`` methods are called once per cycle."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        disable_created_metrics()  # the `_created` series double every counter for nothing a dashboard uses
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.cycles = Counter(f"{PREFIX}_cycles", "Reconcile cycles, by result", ["result"], registry=r)
        self.duration = Histogram(f"{PREFIX}_cycle_duration_seconds", "Duration of a reconcile cycle", registry=r,
                                  buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, float("inf")))
        self.applied = Counter(f"{PREFIX}_changes_applied", "Changes applied and verified, by kind and action",
                               ["kind", "action"], registry=r)
        self.drift = Counter(f"{PREFIX}_drift", "Differences found before acting, by kind", ["kind"], registry=r)
        self.drift_last = Gauge(f"{PREFIX}_drift_last_cycle", "Differences the last cycle found, by kind", ["kind"],
                                registry=r)
        self.blocked = Gauge(f"{PREFIX}_blocked_changes", "Blocked changes in the last cycle, by reason", ["reason"],
                             registry=r)
        self.accounts = Gauge(f"{PREFIX}_accounts", "Accounts read by the last cycle, in sync or out of sync",
                              ["state"], registry=r)
        self.backed_off = Gauge(f"{PREFIX}_backed_off_accounts", "Accounts whose changes are backed off", registry=r)
        self.requests = Counter(f"{PREFIX}_api_requests", "API requests (every attempt), by HTTP status or error",
                                ["status"], registry=r)
        self.retries = Counter(f"{PREFIX}_api_retries", "API request retries", registry=r)
        self.last_success = Gauge(f"{PREFIX}_last_success_timestamp_seconds",
                                  "Unix time the last successful cycle ended", registry=r)
        # Entry windows (`when:`), by entry name: not under the reconcile prefix, they describe the playbook.
        self.window_active = Gauge("orchestrator_window_active", "Whether a windowed entry is open (1) or not (0)",
                                   ["entry"], registry=r)
        self.window_next = Gauge("orchestrator_window_next_transition_timestamp_seconds",
                                 "Unix time a windowed entry next opens or closes", ["entry"], registry=r)
        # Fed by the engine's event stream as operations end (see `Reconciler`), not per cycle.
        self.operations = Counter(f"{PREFIX}_operations", "Operations carried out, by kind, operation and result",
                                  ["kind", "operation", "result"], registry=r)
        # What the alert rules need to judge "no success for three intervals" without a
        # threshold per deployment (deploy/prometheus/alerts.yml), and "the lock is stuck".
        self.interval = Gauge(f"{PREFIX}_interval_seconds", "Time between cycles (--every)", registry=r)
        self.started = Gauge(f"{PREFIX}_started_timestamp_seconds", "Unix time this reconciler started",
                             registry=r)
        self.lock_since = Gauge(f"{PREFIX}_lock_held_since_timestamp_seconds",
                                "Unix time the run lock was taken, by holder: self (this process, during a "
                                "cycle) or other (another run, found holding it by the last cycle); 0 when free",
                                ["holder"], registry=r)
        for holder in ("self", "other"):
            self.lock_since.labels(holder).set(0)
        self._seen_requests: dict[str, int] = {}
        self._seen_retries = 0
        self._known: dict[str, set[str]] = {"drift_last": set(), "blocked": set()}
        self.last_cycle_end: float | None = None

    def observe_api(self, stats: Mapping[str, Any]) -> None:
        """Add what the transport counted since the last call (its counters only grow)."""
        for status, n in stats.get("requests", {}).items():
            delta = n - self._seen_requests.get(status, 0)
            if delta > 0:
                self.requests.labels(str(status)).inc(delta)
            self._seen_requests[status] = n
        retries = int(stats.get("retries", 0))
        if retries > self._seen_retries:
            self.retries.inc(retries - self._seen_retries)
        self._seen_retries = retries

    def observe_cycle(self, result: str, duration: float, *, succeeded: bool, applied: Iterable[tuple[str, str]],
                      drift: Iterable[str], blocked: Iterable[str], in_sync: int, out_of_sync: int,
                      backed_off: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.cycles.labels(result).inc()
        self.duration.observe(duration)
        for kind, action in applied:
            self.applied.labels(kind, action).inc()
        drift_counts: dict[str, int] = {}
        for kind in drift:
            drift_counts[kind] = drift_counts.get(kind, 0) + 1
            self.drift.labels(kind).inc()
        self._set_all(self.drift_last, "drift_last", drift_counts)
        blocked_counts: dict[str, int] = {}
        for reason in blocked:
            blocked_counts[reason] = blocked_counts.get(reason, 0) + 1
        self._set_all(self.blocked, "blocked", blocked_counts)
        self.accounts.labels("in_sync").set(in_sync)
        self.accounts.labels("out_of_sync").set(out_of_sync)
        self.backed_off.set(backed_off)
        if succeeded:
            self.last_success.set(now)
        self.last_cycle_end = now

    def observe_windows(self, states: Mapping[str, bool], ahead: Mapping[str, float]) -> None:
        """Each windowed entry open or not, and when it next changes (removed when it never will)."""
        for entry, on in states.items():
            self.window_active.labels(entry).set(1 if on else 0)
            if entry in ahead:
                self.window_next.labels(entry).set(ahead[entry])
            else:
                with contextlib.suppress(KeyError):  # never set: nothing to remove
                    self.window_next.remove(entry)

    def observe_lock(self, holder: str, since: float | None) -> None:
        """``holder`` (``self`` or ``other``) holds the run lock since ``since``; None: it does not."""
        self.lock_since.labels(holder).set(since or 0)

    def _set_all(self, gauge: Gauge, name: str, counts: Mapping[str, int]) -> None:
        """Set a labelled gauge to this cycle's counts; labels seen before and absent now go to 0."""
        for label in self._known[name] | set(counts):
            gauge.labels(label).set(counts.get(label, 0))
        self._known[name] |= set(counts)

    def write_textfile(self, path: str) -> None:
        """The textfile-collector format, written atomically (a temporary file, then a rename)."""
        write_to_textfile(path, self.registry)
