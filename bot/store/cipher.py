"""The keys that encrypt installations' tokens at rest (bot/store/installations.py), read apart from the
store so that checking SLACK_INSTALLATION_KEYS loads neither Redis nor Slack's SDK."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, MultiFernet


def token_cipher(encryption_keys: Sequence[str]) -> MultiFernet:
    """The keys as MultiFernet (the first encrypts, all decrypt); ValueError, naming which, for one that
    is no Fernet key, without repeating it."""
    if not encryption_keys:
        raise ValueError("at least one installation key is needed")
    ciphers = []
    for position, key in enumerate(encryption_keys, start=1):
        try:
            ciphers.append(Fernet(key.strip()))
        except ValueError:
            raise ValueError(
                f"key {position} of {len(encryption_keys)} is not a Fernet key (32 url-safe base64-encoded "
                "bytes)"
            ) from None
    return MultiFernet(ciphers)
