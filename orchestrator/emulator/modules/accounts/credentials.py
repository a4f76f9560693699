"""What a login may bring besides the password: a two-factor secret and an IMAP mailbox.

Third-party clients (a public MCP server for Sharingtools among them) send them with
``POST /accounts/login``: ``twofa_secret`` lets the server answer Instagram's two-factor step
itself (TOTP, RFC 6238), and ``imap_*`` let it read a challenge code from the account's
mailbox when ``POST /accounts/challenge`` asks for ``auto_imap``. The reference names neither;
the rules here are the emulator's choices (docs/api-assumptions.md, 3.16).

Both are **write-only**, like the password: the emulator keeps the secret and the IMAP
password only as SHA-256 (it never has to compute a code or open a mailbox for real), and
no answer renders any of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.emulator.errors import ValidationFailed

# RFC 4648 base32, as authenticator apps show a secret (spaces between groups allowed): 80 to
# 320 bits, the range TOTP secrets come in (Instagram's are 160 bits, 32 characters).
_BASE32 = re.compile(r"^[A-Z2-7]{16,64}=*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")  # a DNS name (or a dotted IPv4 address)

# The IMAP fields a login takes, and the two other names clients use for them.
IMAP_FIELDS = ("imap_host", "imap_port", "imap_username", "imap_password", "imap_ssl")
IMAP_ALIASES = {"imap_server": "imap_host", "imap_email": "imap_username"}
IMAP_REQUIRED = ("imap_host", "imap_username", "imap_password")


@dataclass(frozen=True, slots=True)
class Credentials:
    """The extra credentials of one login request, validated; None where not given."""

    twofa_sha256: str | None = None
    imap: dict[str, Any] | None = None  # host, port, username, ssl, password_sha256

    def store_on(self, doc: dict[str, Any]) -> None:
        """Keep what was given on the account; what was not given stays as it was."""
        if self.twofa_sha256 is not None:
            doc["twofa_sha256"] = self.twofa_sha256
        if self.imap is not None:
            doc["imap"] = self.imap


def parse(fields: Mapping[str, Any]) -> Credentials:
    """Validate ``twofa_secret`` and the ``imap_*`` group of a login body (every problem named
    in one 422). An ``imap_*`` name that is not one of ours is refused, not ignored: a typo in
    a mailbox setting would only show later, as an ``auto_imap`` that cannot work."""
    problems: dict[str, str] = {}
    twofa = fields.get("twofa_secret")
    twofa_sha256 = None
    if twofa is not None:
        secret = str(twofa).replace(" ", "").upper() if isinstance(twofa, str) else ""
        if not _BASE32.match(secret):
            problems["twofa_secret"] = "Must be a base32 TOTP secret (16 to 64 characters A-Z, 2-7)"
        else:
            twofa_sha256 = hashlib.sha256(secret.rstrip("=").encode()).hexdigest()
    imap = _imap(fields, problems)
    if problems:
        raise ValidationFailed(problems)
    return Credentials(twofa_sha256, imap)


def _imap(fields: Mapping[str, Any], problems: dict[str, str]) -> dict[str, Any] | None:
    given: dict[str, Any] = {}
    for name, value in fields.items():
        if not name.startswith("imap_") or value is None:
            continue
        canonical = IMAP_ALIASES.get(name, name)
        if canonical not in IMAP_FIELDS:
            problems[name] = "Unknown IMAP field: use " + ", ".join(IMAP_FIELDS)
        elif canonical in given and given[canonical] != value:
            problems[name] = f"Contradicts {canonical}"
        else:
            given[canonical] = value
    if not given:
        return None
    for name in IMAP_REQUIRED:
        if name not in given:
            problems[name] = "Required with the other imap_* fields"
    host, port, ssl = given.get("imap_host"), given.get("imap_port"), given.get("imap_ssl", True)
    if host is not None and not (isinstance(host, str) and _HOST.match(host)):
        problems["imap_host"] = "Must be a host name"
    if not isinstance(ssl, bool):
        problems["imap_ssl"] = "Must be true or false"
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        problems["imap_port"] = "Must be a port number (1-65535)"
    username, password = given.get("imap_username"), given.get("imap_password")
    if username is not None and not (isinstance(username, str) and 0 < len(username.strip()) <= 320):
        problems["imap_username"] = "Must be the mailbox's login (at most 320 characters)"
    if password is not None and not (isinstance(password, str) and 0 < len(password) <= 256):
        problems["imap_password"] = "Must be the mailbox's password (1 to 256 characters)"
    if problems:
        return None
    # No problem left: host, username and password are present and strings.
    return {
        "host": str(host).lower(),
        "port": port or (993 if ssl else 143),  # IMAPS, or IMAP with STARTTLS
        "username": str(username).strip(),
        "ssl": ssl,
        "password_sha256": hashlib.sha256(str(password).encode()).hexdigest(),
    }
