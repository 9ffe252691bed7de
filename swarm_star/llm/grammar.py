"""Schemas a grammar engine can compile, and how a server says it could not.

Servers built on llama.cpp (``llama-server``, Ollama, LM Studio,
llama-cpp-python) turn a response format's JSON schema into a grammar. Their
converter writes ``maxLength: N`` (and ``maxItems``, ``minLength``,
``minItems``) out as N nested optional rules, and the grammar parser gives up
on deep nests: llama-cpp-python 0.3.36 printed "number of rules that are going
to be repeated multiplied by the new repetition exceeds sane defaults … failed
to parse grammar" for a single string field with ``maxLength`` 1001 and then
crashed (segfault): the user's server was gone, every later call refused
(issue 21). Bounds up to 1000 compiled; so a schema sent as a grammar keeps
bounds of at most :data:`GRAMMAR_MAX_REPEAT` (a quarter of that) and loses
larger ones. Validation is unchanged: the reply is still checked against the
pydantic class, and the call's ``max_tokens`` bounds how long a reply can be.

A server that still refuses a grammar answers with an error whose text names
it; :func:`format_refused` recognises that text, so the client steps down to the
next structured-output mode as for any other refusal of the response format.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ARRAY_SLOTS",
    "CHARS_PER_TOKEN",
    "FORMAT_WORDS",
    "GRAMMAR_MAX_REPEAT",
    "MAX_ITEMS",
    "STEP_DOWN_STATUS",
    "bounded_schema",
    "format_refused",
    "grammar_safe",
]

GRAMMAR_MAX_REPEAT = 256
"""The largest ``maxLength``/``maxItems``/``minLength``/``minItems`` a schema sent to a server keeps."""
CHARS_PER_TOKEN = 2  # the free text of a reply may use about 2 characters per token of the call's cap
ARRAY_SLOTS = 4  # an array of strings is budgeted like this many string fields
MAX_ITEMS = 8
_REPEATS = ("maxLength", "minLength", "maxItems", "minItems")

STEP_DOWN_STATUS = (400, 404, 422)
FORMAT_WORDS = (
    "response_format",
    "json_schema",
    "schema",
    "json_object",
    "grammar",  # llama.cpp: "failed to parse grammar", "Failed to initialize samplers: failed to parse grammar"
    "exceeds sane defaults",
    "tools",  # llama.cpp without --jinja: "tools param requires --jinja flag"
    "tool_choice",
)
"""Words in an error body that say the server refused the response format, not that it failed."""


def format_refused(status: int, detail: str) -> bool:
    """Whether an error answer to a request with a response format refuses the format: a 400,
    404 or 422, or a 5xx whose text names the format or a grammar (step down, don't retry)."""
    text = detail.lower()
    return status in STEP_DOWN_STATUS or (status >= 500 and any(word in text for word in FORMAT_WORDS))


def grammar_safe(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without repetition bounds over :data:`GRAMMAR_MAX_REPEAT` (each would be a
    nest that deep in the grammar). Bounds within it are kept."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: walk(value)
                for key, value in node.items()
                if not (key in _REPEATS and isinstance(value, int) and value > GRAMMAR_MAX_REPEAT)
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(schema)


def bounded_schema(schema: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """``schema`` for a grammar (llama.cpp's ``json_object`` + ``schema``): a ``maxLength``
    on every free-text string and a ``maxItems`` on every array that has none, shared out
    of the call's ``max_tokens``, when that share is small enough to compile.

    Why bound at all: a grammar closes the string (or list) at the bound, so a small
    model that rambles still writes complete JSON within ``max_tokens`` instead of a
    reply cut off mid-string. Why only small shares: a larger bound is a grammar too
    deep to compile (see the module's docstring); then the text is left unbounded,
    and the token cap is what bounds it. Validation is unchanged.
    """

    def is_text(node: dict[str, Any]) -> bool:
        return node.get("type") == "string" and not {"enum", "const", "maxLength", "format"} & node.keys()

    def slots(node: Any, weight: int = 1) -> int:
        if isinstance(node, dict):
            if is_text(node):
                return weight
            inner = ARRAY_SLOTS if node.get("type") == "array" else 1
            return sum(slots(value, weight * inner if key == "items" else weight) for key, value in node.items())
        if isinstance(node, list):
            return sum(slots(item, weight) for item in node)
        return 0

    chars = max(32, max_tokens * CHARS_PER_TOKEN // max(1, slots(schema)))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: walk(value) for key, value in node.items()}
            if is_text(node) and chars <= GRAMMAR_MAX_REPEAT:
                out["maxLength"] = chars
            if out.get("type") == "array" and "maxItems" not in out:
                out["maxItems"] = MAX_ITEMS
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return grammar_safe(walk(schema))
