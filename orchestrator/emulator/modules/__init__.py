"""The emulated API modules, one package each (``models`` for state and rules, ``routes`` for HTTP).

Each package exports ``router`` and may export ``seed_demo(ctx)``, ``seed_scale(ctx, accounts)``
and ``tick(state, now)``; the app, the seeders and the engine find them through ``MODULES``.
"""

from orchestrator.emulator.modules import (
    accounts,
    ai_dm,
    billing,
    captions,
    direct,
    first_comment,
    inbox,
    keys,
    leads,
    media,
    post_actions,
    posts,
    proxies,
    reactions,
    repost,
    user,
    welcomedm,
)

# Accounts first: every other seeder builds on the accounts it creates.
MODULES = (
    accounts,
    captions,
    media,
    posts,
    reactions,
    repost,
    post_actions,
    leads,
    ai_dm,
    welcomedm,
    first_comment,
    inbox,
    direct,
    # The later revision's additions (no seeders: they read what the others made).
    user,
    billing,
    keys,
    proxies,
)
