"""Credentials out of every error text before it is stored or shown.

Servers echo what they were sent: a 401 body may quote the ``Authorization``
header, a proxy error the URL with its ``?key=``. Whatever text leaves the
model layer (an exception message, a frame's error, a line on screen) goes
through :func:`redact` first. It knows the usual shapes of a credential and,
exactly, the values of the keys configured in the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

__all__ = ["SECRET_ENV_VARS", "known_secrets", "redact"]

SECRET_ENV_VARS = ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "SWARM_STAR_AGENT_KEY", "COSMOS_KEY")
MASK = "[redacted]"

_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"),
    re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{6,}"),
    re.compile(
        r"(?i)((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd|key)[\"']?\s*[=:]\s*[\"']?)"
        r"[^\s\"'&,;}]{4,}"
    ),
)


def known_secrets(env: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The configured keys' exact values (long enough to be secrets, not words)."""
    env = os.environ if env is None else env
    values = [env.get(name, "") for name in SECRET_ENV_VARS]
    return tuple(sorted({v for v in (*values, *extra) if v and len(v) >= 6}, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with anything credential-shaped, and each of ``secrets``, masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[1].sub(MASK, text)
    return _PATTERNS[2].sub(lambda m: m.group(1) + MASK, text)
