"""Text from outside, made fit to keep and to send again: lone UTF-16 surrogates become U+FFFD.

Why: a JSON body may carry half of a character as an escape (``"\\ud83d"``, what
servers that split a multi-byte character across tokens send); Python decodes it
into a lone surrogate, which is not text in UTF-8. Kept as it is, it fails the
next request that quotes it (the body cannot be encoded) and every store write.
So it is replaced where text enters (model replies, agent replies) and, once
more, by the store's JSON encoding.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LONE_SURROGATE", "clean_data", "clean_text"]

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (the same object when there is none)."""
    return LONE_SURROGATE.sub("\ufffd", text) if LONE_SURROGATE.search(text) else text


def clean_data(value: Any) -> Any:
    """Parsed JSON with :func:`clean_text` applied to every string, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_data(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key) if isinstance(key, str) else key: clean_data(item) for key, item in value.items()}
    return value
