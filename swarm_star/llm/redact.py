"""The redaction boundary: credentials out of every text before it is stored, logged, shown or sent.

Servers echo what they were sent: a 401 body may quote the ``Authorization``
header or the bare key, a 200 reply may repeat the header, a proxy error the
URL with its ``?key=``. Every text that can reach a record, a log line, the
screen or an HTTP response passes through this module, at two kinds of place:

- where text from outside enters (a model's or an agent's reply and error
  body, in :mod:`swarm_star.llm.client` and :mod:`swarm_star.primitives.pool`):
  the client that sent a key masks it, so even in-memory views (the live tree,
  a server's own event stream, ``agents --json``) never hold it;
- where anything is written to a store (:func:`swarm_star.store.base.encode_value`,
  the one serialization of both backends): the configured keys' exact values
  are masked in every record, whatever path the text took to get there.

Two strengths: :func:`redact` is for error texts (credential *shapes* too:
``Bearer …``, ``sk-…``, ``api_key=…``, ``user:pass@`` in a URL); :func:`mask`
is for content such as a model's reply, where a shape rule would mangle
ordinary text (``key: value``), so only the exact keys are masked. URLs
that are stored (a ``--base-url``) lose their credentials first
(:func:`strip_url_credentials`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "SECRET_ENV_VARS", "known_secrets", "mask", "mask_json", "redact", "strip_url_credentials"]

SECRET_ENV_VARS = ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "SWARM_STAR_AGENT_KEY", "COSMOS_KEY", "SWARM_STAR_TOKEN")
MASK = "[redacted]"
MIN_SECRET = 6
"""Shorter values are words, not keys: masking them would only garble text."""

_SECRET_NAME = re.compile(r"(?i)(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$")
"""Environment variables that hold credentials by name (``--api-key-env MY_KEY``, ``HF_TOKEN``)."""
_SECRET_PARAM = re.compile(r"(?i)key|token|secret|passw|auth|sig|credential")
"""URL query parameters that carry credentials (``?api_key=``, ``?access_token=``, ``&sig=``)."""

_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"),
    re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{6,}"),
    re.compile(
        r"(?i)((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd|key)[\"']?\s*[=:]\s*[\"']?)"
        r"[^\s\"'&,;}]{4,}"
    ),
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@]+@"),
)


def known_secrets(env: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The configured keys' exact values: the variables Swarm Star reads keys from, every
    variable named like a credential (``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``),
    and ``extra`` (a key given in code); longest first, so a key that contains another is
    masked whole."""
    env = os.environ if env is None else env
    values = [value for name, value in env.items() if name in SECRET_ENV_VARS or _SECRET_NAME.search(name)]
    found = {v for v in (*values, *extra) if v and len(v) >= MIN_SECRET and not v.isspace()}
    return tuple(sorted(found, key=len, reverse=True))


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (exact values) masked; nothing else changes."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_json(encoded: str, secrets: Iterable[str]) -> str:
    """JSON text with each secret masked inside its strings (the secret as JSON escapes it)."""
    for secret in secrets:
        needle = _as_json(secret)
        if needle and needle in encoded:
            encoded = encoded.replace(needle, MASK)
    return encoded


@lru_cache(maxsize=64)
def _as_json(secret: str) -> str:
    """``secret`` as it appears inside a JSON string (every stored value asks: computed once)."""
    return json.dumps(secret, ensure_ascii=False)[1:-1]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with anything credential-shaped, and each of ``secrets``, masked (for error texts)."""
    text = mask(text, secrets)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[1].sub(MASK, text)
    text = _PATTERNS[2].sub(lambda m: m.group(1) + MASK, text)
    return _PATTERNS[3].sub(lambda m: m.group(1) + MASK + "@", text)


def strip_url_credentials(url: str) -> str:
    """``url`` without ``user:password@`` and without query parameters named like credentials
    (the rest of the URL unchanged), so the URL can be stored and shown."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc.rpartition("@")[2]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if not _SECRET_PARAM.search(name)]
    if netloc == parts.netloc and len(kept) == len(pairs):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept), parts.fragment))
