"""Random tokens and their stored hashes (API tokens, calendar-feed addresses).

Plain functions over the standard library, so the services and the web layer can both
use them.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    """Return a long random URL-safe token."""
    return secrets.token_urlsafe(32)


def hash_secret(raw: str) -> str:
    """Hash a high-entropy token for storage (tokens are random, so no salt is needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()
