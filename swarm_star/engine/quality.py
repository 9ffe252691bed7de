"""Is a model's text usable? Checks applied where model output enters the tree.

A weak or unlucky model reply must not become a sub-directive, a manager's
next directive or a "finished" report. These checks are deliberately plain
rules (no model call): they reject what is evidently not content -- empty
text, punctuation or numbers only, placeholders such as ``"Report"`` or
``"test"``, error strings such as ``"FAILED,"`` or ``"Error: ..."``, bare
timestamps -- and let everything else through.

Why in the engine: the engine applies :func:`report_junk` at its own boundary
(a part whose prerequisite reported junk is skipped; junk is not saved to
memory), and it never imports the kit. Actions get both checks from
``swarm_star.kit``.
"""

from __future__ import annotations

import re

__all__ = ["directive_junk", "report_junk"]

_PLACEHOLDERS = frozenset(
    {
        "answer",
        "directive",
        "done",
        "example",
        "lorem ipsum",
        "n a",
        "na",
        "nan",
        "none",
        "null",
        "ok",
        "output",
        "placeholder",
        "report",
        "result",
        "string",
        "sub directive",
        "subdirective",
        "task",
        "tbd",
        "test",
        "text",
        "todo",
        "undefined",
        "unknown",
    }
)
_ERROR_START = re.compile(
    r"^\W*(?:error|failed|failure|fail|exception|traceback|fatal|panic|abort(?:ed)?|timeout|timed out|"
    r"internal server error|bad request|not found)\b\W*(?::|,|;|$|\d)",
    re.IGNORECASE,
)
_ERROR_ANYWHERE = re.compile(
    r"traceback \(most recent call last\)|\b[a-z]*(?:error|exception)\b:\s|^\s*\d{3}\s+[a-z ]+error",
    re.IGNORECASE,
)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?", re.I)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]{2,}", text)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]|_", " ", text.lower()).split())


def _common_junk(text: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return "empty"
    if not re.search(r"\w", _TIMESTAMP.sub("", stripped)):
        return "no words, only punctuation, numbers or timestamps" if _TIMESTAMP.search(stripped) else None
    if _normal(stripped) in _PLACEHOLDERS:
        return f"a placeholder ({stripped[:30]!r})"
    if _ERROR_START.search(stripped) or _ERROR_ANYWHERE.search(stripped):
        return f"looks like an error message ({stripped[:60]!r})"
    return None


def directive_junk(text: str) -> str | None:
    """Why ``text`` is not a usable (sub-)directive, or None if it is one.

    A directive needs a word (two letters or more), and is never a
    placeholder such as ``"test"`` or an error string such as ``"FAILED,"``.
    """
    stripped = (text or "").strip()
    if not re.search(r"[^\W_]", stripped):
        return "empty" if not stripped else "no words, only punctuation"
    reason = _common_junk(stripped)
    if reason:
        return reason
    if not _words(stripped):
        return "no words, only punctuation, letters or numbers"
    return None


def report_junk(text: str | None) -> str | None:
    """Why ``text`` is not a usable report, or None if it is one.

    Reports may be short ("42" answers "what is 6 x 7"), so only text that
    carries nothing is rejected: empty, punctuation only, a bare timestamp,
    a placeholder, or an error string.
    """
    stripped = (text or "").strip()
    if not stripped:
        return "empty"
    if not re.search(r"[^\W_]", stripped):
        return "no words, only punctuation"
    return _common_junk(stripped)
