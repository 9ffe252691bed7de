"""Is a model's text usable? Checks applied where model output enters the tree.

A weak or unlucky model reply must not become a sub-directive, a manager's
next directive or a "finished" report. These checks are deliberately plain
rules (no model call): they reject what is evidently not content -- empty
text, punctuation or numbers only, placeholders such as ``"Report"`` or
``"test"``, error strings such as ``"FAILED,"`` or ``"Error: ..."``, bare
timestamps, template or schema debris (``{%if %}``, ``#/defs/Part``, a
reply's closing ``]}`` and code fence), the words of the prompts themselves
(``planner``, ``subdirectives``), and for a sub-directive a fragment of the
prompt that asked for it -- and let everything else through.

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
        "planner",
        "manager",
        "reviewer",
        "router",
        "worker",
        "needs context",
        "subdirectives",
        "sub directives",
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
# Template tags, chat-template tokens and JSON-schema pointers: what a small model copies out of
# its prompt or template instead of writing content.
_DEBRIS = re.compile(
    r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}|<\|[^|>]*\|>|#/\$?(?:defs|definitions|properties)\S*|\$(?:ref|defs)\b",
    re.S,
)
# Starting with the end of a JSON value, or with a code fence: the rest of a reply spilled into a
# field. (A fence inside a directive is content: a user's directive may quote code.)
_SPILL = re.compile(r"^\W*[\]}]|^\s*```")
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
    if _DEBRIS.search(stripped) and len(_words(_DEBRIS.sub(" ", stripped))) < 2:
        return f"template or schema debris ({stripped[:40]!r})"
    if _ERROR_START.search(stripped) or _ERROR_ANYWHERE.search(stripped):
        return f"looks like an error message ({stripped[:60]!r})"
    return None


def directive_junk(text: str, *, prompt: str = "") -> str | None:
    """Why ``text`` is not a usable (sub-)directive, or None if it is one.

    A directive needs a word (two letters or more), and is never a
    placeholder such as ``"test"``, an error string such as ``"FAILED,"``,
    template or schema debris, or the spill of a reply (``]} ``` This is …``).
    With ``prompt`` (the fixed words of the request that asked for it: its
    system prompt and schema), a text of two words or more found in it is a
    fragment of the prompt, not a directive.
    """
    stripped = (text or "").strip()
    if not re.search(r"[^\W_]", stripped):
        return "empty" if not stripped else "no words, only punctuation"
    if _SPILL.search(stripped):
        return f"the spill of a reply (it starts with a closing bracket or a code fence: {stripped[:40]!r})"
    reason = _common_junk(stripped)
    if reason:
        return reason
    if not _words(stripped):
        return "no words, only punctuation, letters or numbers"
    key = _normal(stripped)
    if prompt and len(key.split()) >= 2 and key in _normal(prompt):
        return f"a fragment of the prompt ({stripped[:40]!r})"
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
