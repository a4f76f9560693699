"""Reconcile: plan and apply (or report) on a schedule, with its metrics and health."""
