"""Spintax for the playbook: the project's one implementation lives in ``orchestrator.text``,
which the emulator shares; the playbook uses its checks (balance, variant count)."""

from orchestrator.text.spintax import (
    PLACEHOLDER,
    Choice,
    Sequence,
    SpintaxProblem,
    SpintaxSyntaxError,
    check,
    longest,
    parse,
    spin,
    variant_count,
)

__all__ = [
    "PLACEHOLDER", "Choice", "Sequence", "SpintaxProblem", "SpintaxSyntaxError", "check", "longest", "parse", "spin",
    "variant_count",
]
