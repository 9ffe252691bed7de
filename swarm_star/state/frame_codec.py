"""How history frames are stored: schema 2, a lean envelope with shared prompt text.

Why: model-call frames are most of a swarm's store, and most of their bytes
repeat: the system prompts, and the router's menu of options, are sent on
thousands of calls with only a handful of distinct versions. Schema 2 stores
such text once, content-addressed, and references it from the frames:

- A message's ``content`` is split at blank lines; every part of at least
  :data:`SHARED_MIN` characters is stored once under ``swarm_text_{digest}``
  (the SHA-256 of the text, 128 bits shown) and replaced by ``{"ref": digest}``;
  the message keeps ``parts`` instead of ``content``. Joining the parts with a
  blank line gives back the exact text.
- The call envelope drops what it can restore exactly: optional fields that
  are null, the touched-nodes list when it is just the op's node, and usage
  and attempt records become positional lists.

Decoding returns exactly the dict the schema-1 writer stored (``model_dump``
of the same event), so ``history``, the API, replay and the web view read
both schemas alike. Schema-1 frames (no ``schema_version`` 2) pass through
unchanged: old stores stay readable. Text is only ever added, never deleted,
so a frame's references always resolve.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from swarm_star.errors import StoreCorrupt
from swarm_star.store.base import KVStore, Put

__all__ = ["FRAME_SCHEMA", "SHARED_MIN", "TEXT_PREFIX", "FrameCodec"]

FRAME_SCHEMA = 2
TEXT_PREFIX = "swarm_text_"
SHARED_MIN = 96
"""Shortest text part worth its own row (a row costs ~60 bytes of key and overhead)."""

_SEP = "\n\n"
_CALL_OPTIONAL = ("mode", "max_tokens", "finish_reason", "digest", "error", "replaces", "route")
_USAGE = ("calls", "prompt_tokens", "completion_tokens", "cost", "unpriced_calls")
_USAGE_LATER = ("cached_tokens", "cache_write_tokens")
"""Usage fields added later: appended to the positional list only when not all zero."""
_ATTEMPT = ("status", "error", "mode", "latency_s", "prompt_tokens", "completion_tokens")
_CACHE_LIMIT = 4096


class FrameCodec:
    """Encodes frames for one swarm's store and decodes them back (caches shared text)."""

    def __init__(self, store: KVStore | None) -> None:
        self.store = store  # None: an encoder only (a new swarm's first batch, before its store exists)
        self._digest_of: dict[str, str] = {}  # text -> digest already written (this process)
        self._text_of: OrderedDict[str, str] = OrderedDict()  # digest -> text, least recently used first

    # writing

    def encode(self, frame: dict[str, Any]) -> tuple[dict[str, Any], list[Put]]:
        """The schema-2 form of a frame (``model_dump(mode="json")`` of an event) and the
        shared-text rows it needs (only those not written before by this codec)."""
        op = frame["op"]
        out: dict[str, Any] = {"schema_version": FRAME_SCHEMA, "frame": frame["frame"], "time": frame["time"]}
        puts: list[Put] = []
        if op.get("kind") == "llm_call":
            op = self._lean_call(op, puts)
        out["op"] = op
        nodes = frame.get("nodes", [])
        if nodes != [op.get("node_id")]:
            out["nodes"] = nodes
        return out, puts

    def _lean_call(self, op: dict[str, Any], puts: list[Put]) -> dict[str, Any]:
        lean = {k: v for k, v in op.items() if not (v is None and k in _CALL_OPTIONAL)}
        lean["request"] = [self._message(m, puts) for m in op["request"]]
        usage = op["usage"]
        later = [usage.get(k, 0) for k in _USAGE_LATER]
        lean["usage"] = [usage[k] for k in _USAGE] + (later if any(later) else [])
        lean["attempt_log"] = [[a[k] for k in _ATTEMPT] for a in op["attempt_log"]]
        return lean

    def _message(self, message: dict[str, str], puts: list[Put]) -> dict[str, Any]:
        content = message.get("content")
        if not isinstance(content, str) or len(content) < SHARED_MIN:
            return message
        parts: list[Any] = []
        shared = False
        for part in content.split(_SEP):
            if len(part) >= SHARED_MIN:
                parts.append({"ref": self._share(part, puts)})
                shared = True
            else:
                parts.append(part)
        if not shared:
            return message
        out: dict[str, Any] = {k: v for k, v in message.items() if k != "content"}
        out["parts"] = parts
        return out

    def _share(self, text: str, puts: list[Put]) -> str:
        digest = self._digest_of.get(text)
        if digest is None:
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
            if len(self._digest_of) >= _CACHE_LIMIT:
                self._digest_of.clear()  # bounded: a forgotten text is only written again (same value)
            self._digest_of[text] = digest
            self._text_of[digest] = text
            puts.append(Put(TEXT_PREFIX + digest, text))
        return digest

    def forget(self, puts: list[Put]) -> None:
        """The batch carrying ``puts`` failed: write their text again with the next frame that uses it."""
        for put in puts:
            if put.key.startswith(TEXT_PREFIX):
                self._digest_of.pop(put.value, None)

    # reading

    def decode(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The frame as the schema-1 writer stored it (schema-1 frames are returned as they are)."""
        if raw.get("schema_version") != FRAME_SCHEMA:
            return raw
        op = raw["op"]
        if op.get("kind") == "llm_call":
            op = self._full_call(op)
        return {
            "schema_version": FRAME_SCHEMA,
            "frame": raw["frame"],
            "time": raw["time"],
            "op": op,
            "nodes": raw["nodes"] if "nodes" in raw else [op.get("node_id")],
        }

    def _full_call(self, op: dict[str, Any]) -> dict[str, Any]:
        full = dict(op)
        for key in _CALL_OPTIONAL:
            full.setdefault(key, None)
        full["request"] = [self._full_message(m) for m in op["request"]]
        values = op["usage"]
        full["usage"] = dict(zip(_USAGE, values[: len(_USAGE)], strict=True))
        full["usage"].update(zip(_USAGE_LATER, [*values[len(_USAGE) :], 0, 0][: len(_USAGE_LATER)], strict=True))
        full["attempt_log"] = [dict(zip(_ATTEMPT, a, strict=True)) for a in op["attempt_log"]]
        return full

    def _full_message(self, message: dict[str, Any]) -> dict[str, Any]:
        if "parts" not in message:
            return message
        text = _SEP.join(p if isinstance(p, str) else self._text(p["ref"]) for p in message["parts"])
        out = {k: v for k, v in message.items() if k != "parts"}
        out["content"] = text
        return out

    def _text(self, digest: str) -> str:
        """The shared text ``digest``, from a least-recently-used cache of :data:`_CACHE_LIMIT` texts.

        Why LRU: a replay of a 10,000-node swarm refers to more distinct texts than the
        cache holds (8,515 in the scale benchmark's swarm), but to few at a time (a
        router's menus while it walks); emptying the cache when full dropped the ones in
        use too, and each was read back with a single-row read (346 extra reads there).
        """
        text = self._text_of.get(digest)
        if text is not None:
            self._text_of.move_to_end(digest)
            return text
        text = self.store.get(TEXT_PREFIX + digest) if self.store is not None else None
        if not isinstance(text, str):
            raise StoreCorrupt(f"history refers to shared text {digest} that is missing from the store")
        self._text_of[digest] = text
        if len(self._text_of) > _CACHE_LIMIT:
            self._text_of.popitem(last=False)
        return text
