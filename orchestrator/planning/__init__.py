"""Reading and diffing: the planner, per-account read failures, the blocker rules, shards.

Plan reads the live state each kind needs (``planner``), turns a failed read into that
account's problem (``read_failures``), moves what the server would undo into
``Plan.blocked`` (``blockers``), and keeps to one shard's accounts (``shard``).
"""
