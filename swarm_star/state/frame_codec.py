"""How history frames and state records are stored: schema 3, positional operations with shared text.

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

Schema 3 (2026-12-06) also stores every operation as a list: its kind, then
its fields in the order :data:`OP_FIELDS` pins for that kind (trailing nulls
left off; fields a later release adds ride in a dict at the end), so the
field names are not repeated in every frame; and a report of at least
:data:`SHARED_MIN` characters is stored once as shared text, referenced by
the ``terminate`` frame and by the ``save_memory`` frame that files it.

Schema 4 (2026-12-06, later) drops the envelope's field names: a frame is the
list ``[4, time, op]`` (``[4, time, op, nodes]`` when the touched nodes are not
the default), its number is the one in its key, which the reader passes to
:meth:`FrameCodec.decode`. On a 226-call tree the names and the repeated frame
number were ~45 of the ~150 bytes of an average frame.

Decoding returns exactly the dict the schema-1 writer stored (``model_dump``
of the same event), so ``history``, the API, replay and the web view read
every schema alike. Schema-1 frames pass through unchanged and schema-2
frames are decoded as they were written: old stores stay readable, and new
frames appended to them are schema 3 (frames are decoded one by one). Text is
only ever added, never deleted, so a frame's references always resolve.

Node records and memory entries are encoded here too (:func:`node_record`,
:func:`memory_record`): fields at their default are left out (pydantic fills
them back). Node records are schema 2 (:data:`NODE_SCHEMA`): a list in the
order :data:`NODE_FIELDS` pins, like an operation; the id is the key's, the
parent and depth are left out when the id says them, children numbered
``{id}.0`` … ``{id}.{n-1}`` are stored as ``n``, and a long directive or report
is a reference to shared text (the spawn and terminate frames hold the same
text, so it is usually the same row). :func:`node_from_record` turns any of
them back into the schema-1 dict. Memory entries are ``[2, folder, title,
content]`` (the id is the key's), long content shared the same way.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from itertools import repeat
from typing import Any

from pydantic import BaseModel

from swarm_star.errors import StoreCorrupt
from swarm_star.models import Check, Question, SaveMemory, SwarmNode, Usage
from swarm_star.state.layout import NODE_FIELDS, NODE_SCHEMA, TEXT_PREFIX, USAGE_FIELDS
from swarm_star.state.tree_view import node_view
from swarm_star.store.base import KVStore, Put

__all__ = [
    "FRAME_SCHEMA",
    "MEMORY_SCHEMA",
    "NODE_FIELDS",
    "NODE_SCHEMA",
    "OP_FIELDS",
    "SHARED_MIN",
    "TEXT_PREFIX",
    "FrameCodec",
    "memory_from_record",
    "memory_record",
    "node_from_record",
    "node_record",
    "stored_node",
]

FRAME_SCHEMA = 4
MEMORY_SCHEMA = 2
"""Memory entries: 1 holds its id and content, 2 leaves the id to the key and may refer to shared text."""
SHARED_MIN = 96
"""Shortest text part worth its own row (a row costs ~60 bytes of key and overhead)."""

_SEP = "\n\n"
_CALL_OPTIONAL = ("mode", "max_tokens", "finish_reason", "digest", "error", "replaces", "route")
_USAGE, _USAGE_LATER = USAGE_FIELDS[:5], USAGE_FIELDS[5:]
"""A call's usage list (:data:`~swarm_star.state.layout.USAGE_FIELDS`): the fields added later are
appended only when not all zero."""
_ATTEMPT = ("status", "error", "mode", "latency_s", "prompt_tokens", "completion_tokens")
_CACHE_LIMIT = 4096
OP_FIELDS: dict[str, tuple[str, ...]] = {
    "spawn": ("node_id", "parent_id", "role", "action_id", "directive", "context"),
    "run_action": ("node_id", "activation", "reason"),
    "llm_call": (
        "node_id",
        "call_key",
        "model",
        "purpose",
        "request",
        "response",
        "usage",
        "attempts",
        "latency_s",
        "attempt_log",
        "mode",
        "max_tokens",
        "finish_reason",
        "digest",
        "error",
        "replaces",
        "route",
    ),
    "tool_call": (
        "node_id",
        "call_key",
        "tool",
        "arguments",
        "digest",
        "result",
        "result_chars",
        "is_error",
        "latency_s",
        "error",
        "denied",
        "policy",
        "replaces",
    ),
    "ask_user": ("node_id", "question_id", "question"),
    "user_answer": ("node_id", "question_id", "answer"),
    "await_children": ("node_id",),
    "terminate": ("node_id", "report", "artifacts", "partial"),
    "fail": ("node_id", "error"),
    "save_memory": ("node_id", "entry_id", "folder", "title", "content", "artifacts"),
    "retry": ("node_id",),
    "verdict": ("node_id", "stage", "model", "ok", "reasons"),
    "action_created": ("node_id", "action_id", "path", "sha256"),
    "stop": ("reason", "limit"),
    "resume": ("limits",),
}
"""Schema 3: the fields of each operation kind, in stored order. Pinned: never reorder or
remove a name (stored frames depend on it); a new field of a model is stored in the
trailing dict until a new schema lists it. A kind not listed is stored as a dict."""
_NODE_IMPLIED = {"schema_version", "id", "parent_id", "depth"}
"""Node fields the key says (or the record's trailing dict, when the id does not)."""
_USAGE_ALL = USAGE_FIELDS
_SHARED_FIELDS = {"terminate": "report", "save_memory": "content"}
"""Text fields stored as shared text when long: a report is in its terminate frame and
in the save_memory frame that files it."""


def _default_nodes(op: dict[str, Any]) -> list[Any]:
    """The nodes a frame touches unless it says otherwise: the op's node, and a spawn's parent."""
    if op.get("kind") == "spawn" and op.get("parent_id") is not None:
        return [op.get("node_id"), op["parent_id"]]
    return [op.get("node_id")]


def _plain_attempt(call: dict[str, Any], latency: float) -> dict[str, Any]:
    """The record of a call's only attempt when it is the call itself: answered (200) in the
    call's mode, with the call's tokens; schema 3 stores just its latency."""
    usage = call["usage"]
    return {
        "status": 200,
        "error": None,
        "mode": call.get("mode"),
        "latency_s": latency,
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
    }


def _ref(text: Any, codec: FrameCodec, puts: list[Put]) -> Any:
    """``text`` as a reference to shared text when long enough, else as it is."""
    return {"ref": codec.share(text, puts)} if isinstance(text, str) and len(text) >= SHARED_MIN else text


def node_record(node: SwarmNode, codec: FrameCodec, puts: list[Put]) -> list[Any]:
    """A node record as stored (schema 2): ``[2, *values in NODE_FIELDS order]``, null for a
    field at its default, trailing nulls left off, then a dict of what the order cannot say
    (a parent or depth the id does not give, a field a later release adds); long text shared
    (its rows added to ``puts`` unless ``codec`` wrote them before)."""
    raw = node.model_dump(mode="json", exclude_defaults=True, exclude=_NODE_IMPLIED)
    node_id = node.id
    extra: dict[str, Any] = {}
    if node.parent_id != (node_id.rpartition(".")[0] or None):
        extra["parent_id"] = node.parent_id
    if node.depth != node_id.count("."):
        extra["depth"] = node.depth
    children = node.children
    if children and children[-1] == f"{node_id}.{len(children) - 1}" and children == _numbered(node_id, len(children)):
        raw["children"] = len(children)
    if "usage" in raw:
        usage = [getattr(node.usage, k) for k in _USAGE_ALL]
        while usage[-1] == 0 and len(usage) > 1:
            usage.pop()
        raw["usage"] = usage
    for name in ("directive", "report"):
        if name in raw:
            raw[name] = _ref(raw[name], codec, puts)
    for name in [k for k, v in raw.items() if v is None]:  # in the list, null means the default
        extra[name] = raw.pop(name)
    out: list[Any] = [NODE_SCHEMA, *map(raw.pop, NODE_FIELDS, repeat(None))]
    extra.update(raw)  # fields this list does not name
    return _positional(out, extra, keep=1)


def _positional(out: list[Any], extra: dict[str, Any], *, keep: int) -> list[Any]:
    """A positional record's tail: the fields no position names as a last dict, else the
    trailing nulls dropped (a missing position reads as null), never the first ``keep``."""
    if extra:
        out.append(extra)
    else:
        while len(out) > keep and out[-1] is None:
            out.pop()
    return out


def _numbered(node_id: str, count: int) -> list[str]:
    return [f"{node_id}.{i}" for i in range(count)]


def node_from_record(raw: Any, node_id: str, codec: FrameCodec) -> Any:
    """The schema-1 dict of a stored node record of any schema (a dict is returned as it is,
    a list of another schema as its version, for the reader to refuse)."""
    if not isinstance(raw, list):
        return raw
    if not raw or raw[0] != NODE_SCHEMA:
        return {"schema_version": raw[0] if raw and isinstance(raw[0], int) else "unknown"}
    values = raw[1 : 1 + len(NODE_FIELDS)]
    out: dict[str, Any] = {"schema_version": 1, "id": node_id}
    out.update((name, value) for name, value in zip(NODE_FIELDS, values, strict=False) if value is not None)
    out["parent_id"] = node_id.rpartition(".")[0] or None
    out["depth"] = node_id.count(".")
    if isinstance(out.get("children"), int):
        out["children"] = _numbered(node_id, out["children"])
    if isinstance(out.get("usage"), list) and len(out["usage"]) <= len(_USAGE_ALL):  # else: validation says
        counts = out["usage"] + [0] * (len(_USAGE_ALL) - len(out["usage"]))
        out["usage"] = dict(zip(_USAGE_ALL, counts, strict=True))
    for name in ("directive", "report"):
        if isinstance(out.get(name), dict) and isinstance(out[name].get("ref"), str):
            out[name] = codec.text(out[name]["ref"])
    if len(raw) > 1 + len(NODE_FIELDS) and isinstance(raw[-1], dict):
        out.update(raw[-1])
    return out


_NODE_FIELDS_SET = set(SwarmNode.model_fields)
"""One set of field names for every node built by :func:`stored_node` (pydantic keeps one per
instance: 2.3 KB a node; it only ever adds names it already has)."""
_USAGE_FIELDS_SET = set(Usage.model_fields)
_QUESTION_FIELDS_SET = set(Question.model_fields)
_CHECK_FIELDS_SET = set(Check.model_fields)
_set = object.__setattr__


def _built(cls: type[BaseModel], values: dict[str, Any], fields_set: set[str]) -> Any:
    """An instance of ``cls`` holding ``values`` (every field, in order, of the validated types),
    made as ``model_construct`` makes one but without its per-field loop: the models built
    here have no private attributes, no extras and no post-init (a test holds them to it)."""
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", fields_set)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def stored_node(raw: Any, node_id: str, codec: FrameCodec) -> SwarmNode | None:
    """The node of a schema-2 record as this release writes it, built without pydantic's
    validation from the values :func:`~swarm_star.state.tree_view.node_view` checked (exactly
    the types the model holds); None when the record is anything else: the caller then reads
    it the general way (:func:`node_from_record`, then validation), which migrates it or names
    what is wrong.

    Why: reading the 11,170 node records of a 10,000-node swarm was most of ``tree``; validating
    each record our own code wrote took a third of that (issue 25). The node equals the
    validated one (a test compares them record by record)."""
    view = node_view(raw, node_id, codec.text)
    if view is None:
        return None
    fields = {
        "schema_version": 1,
        "id": node_id,
        "parent_id": view.parent_id,
        "children": view.children,
        "role": view.role,
        "action_id": view.action_id,
        "directive": view.directive,
        "context": view.context,
        "status": view.status,
        "report": view.report,
        "error": view.error,
        "partial": view.partial,
        "depth": view.depth,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "memory_mark": view.memory_mark,
        "usage": _built(Usage, {k: getattr(view.usage, k) for k in USAGE_FIELDS}, _USAGE_FIELDS_SET),
        "activations": view.activations,
        "questions": [
            _built(Question, {"id": q.id, "text": q.text, "answer": q.answer}, _QUESTION_FIELDS_SET)
            for q in view.questions
        ],
        "calls": view.calls,
        "checks": [
            _built(Check, {"stage": c.stage, "model": c.model, "ok": c.ok, "reasons": c.reasons}, _CHECK_FIELDS_SET)
            for c in view.checks
        ],
    }
    return _built(SwarmNode, fields, _NODE_FIELDS_SET)


def memory_record(op: SaveMemory, codec: FrameCodec, puts: list[Put]) -> list[Any]:
    """A memory entry as stored (``memory_space_{entry_id}``, schema 2): ``[2, folder, title,
    content]``, the id being the key's and long content shared."""
    return [MEMORY_SCHEMA, op.folder, op.title, _ref(op.content, codec, puts)]


def memory_from_record(raw: Any, codec: FrameCodec) -> Any:
    """A stored memory entry as the schema-1 dict (without its id: the reader takes the key's)."""
    if not isinstance(raw, list) or len(raw) != 4 or raw[0] != MEMORY_SCHEMA:
        return raw if isinstance(raw, dict) else {}
    content = raw[3]
    if isinstance(content, dict) and "ref" in content:
        content = codec.text(content["ref"])
    return {"schema_version": 1, "folder": raw[1], "name": raw[2], "content": content}


class FrameCodec:
    """Encodes frames for one swarm's store and decodes them back (caches shared text)."""

    def __init__(self, store: KVStore | None) -> None:
        self.store = store  # None: an encoder only (a new swarm's first batch, before its store exists)
        self._digest_of: dict[str, str] = {}  # text -> digest already written (this process)
        self._text_of: OrderedDict[str, str] = OrderedDict()  # digest -> text, least recently used first

    # writing

    def encode(self, frame: dict[str, Any]) -> tuple[list[Any], list[Put]]:
        """The stored (schema-4) form of a frame (``model_dump(mode="json")`` of an event) and the
        shared-text rows it needs (only those not written before by this codec)."""
        op = frame["op"]
        puts: list[Put] = []
        out: list[Any] = [FRAME_SCHEMA, frame["time"], self._pack(op, puts)]
        if frame.get("nodes", []) != _default_nodes(op):
            out.append(frame.get("nodes", []))
        return out, puts

    def _pack(self, op: dict[str, Any], puts: list[Put]) -> Any:
        kind = op.get("kind")
        if not isinstance(kind, str) or kind not in OP_FIELDS:
            return op
        fields = OP_FIELDS[kind]
        if kind == "llm_call":
            op = self._lean_call(op, puts)
        shared = _SHARED_FIELDS.get(kind)
        text = op.get(shared) if shared else None
        if shared and isinstance(text, str) and len(text) >= SHARED_MIN:
            op = {**op, shared: {"ref": self.share(text, puts)}}
        packed: list[Any] = [kind, *(op.get(name) for name in fields)]
        return _positional(packed, {k: v for k, v in op.items() if k != "kind" and k not in fields}, keep=2)

    def _lean_call(self, op: dict[str, Any], puts: list[Put]) -> dict[str, Any]:
        lean = dict(op)
        lean["request"] = [self._message(m, puts) for m in op["request"]]
        usage = op["usage"]
        later = [usage.get(k, 0) for k in _USAGE_LATER]
        lean["usage"] = [usage[k] for k in _USAGE] + (later if any(later) else [])
        log = op["attempt_log"]
        if len(log) == 1 and log[0] == _plain_attempt(op, log[0]["latency_s"]):
            lean["attempt_log"] = [log[0]["latency_s"]]  # schema 3: the one attempt is the call itself
        else:
            lean["attempt_log"] = [[a[k] for k in _ATTEMPT] for a in log]
        return lean

    def _message(self, message: dict[str, str], puts: list[Put]) -> dict[str, Any]:
        content = message.get("content")
        if not isinstance(content, str) or len(content) < SHARED_MIN:
            return message
        parts: list[Any] = []
        shared = False
        for part in content.split(_SEP):
            if len(part) >= SHARED_MIN:
                parts.append({"ref": self.share(part, puts)})
                shared = True
            else:
                parts.append(part)
        if not shared:
            return message
        out: dict[str, Any] = {k: v for k, v in message.items() if k != "content"}
        out["parts"] = parts
        return out

    def share(self, text: str, puts: list[Put]) -> str:
        """The digest of ``text`` as shared text; its row is added to ``puts`` unless written before."""
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

    def decode(self, raw: Any, number: int) -> dict[str, Any]:
        """Frame ``number`` (from its key) as the schema-1 writer stored it (schema-1 frames are
        returned as they are; a list that is not schema 4 as its version, for the reader to refuse)."""
        if isinstance(raw, list):
            return self._decode_list(raw, number)
        version = raw.get("schema_version")
        if version not in (2, 3):  # schema 1 is the dict itself; 4 is a list
            return raw
        op = raw["op"]
        if isinstance(op, list):
            op = self._unpack(op)
        elif op.get("kind") == "llm_call":  # schema 2: a dict, the call lean
            op = self._full_call(op)
        return {
            "schema_version": version,
            "frame": raw["frame"],
            "time": raw["time"],
            "op": op,
            "nodes": raw["nodes"] if "nodes" in raw else _default_nodes(op) if version == 3 else [op.get("node_id")],
        }

    def _decode_list(self, raw: list[Any], number: int) -> dict[str, Any]:
        version = raw[0] if raw and isinstance(raw[0], int) else None
        if version != FRAME_SCHEMA or len(raw) not in (3, 4) or not isinstance(raw[2], list):
            later = version is not None and version > FRAME_SCHEMA
            return {"schema_version": version if later else "unknown", "frame": number}
        op = self._unpack(raw[2])
        return {
            "schema_version": FRAME_SCHEMA,
            "frame": number,
            "time": raw[1],
            "op": op,
            "nodes": raw[3] if len(raw) == 4 else _default_nodes(op),
        }

    def _unpack(self, packed: list[Any]) -> dict[str, Any]:
        kind = packed[0] if packed else None
        fields = OP_FIELDS.get(kind) if isinstance(kind, str) else None
        if fields is None:  # a kind of a later release: the reader names the frame and the kind
            return {"kind": kind, "fields": packed[1:]}
        values = packed[1 : 1 + len(fields)]
        values += [None] * (len(fields) - len(values))  # trailing nulls are not stored
        op: dict[str, Any] = {"kind": kind, **dict(zip(fields, values, strict=True))}
        if len(packed) > 1 + len(fields):
            op.update(packed[1 + len(fields)])
        shared = _SHARED_FIELDS.get(str(kind))
        if shared and isinstance(op.get(shared), dict):
            op[shared] = self.text(op[shared]["ref"])
        return self._full_call(op) if kind == "llm_call" else op

    def _full_call(self, op: dict[str, Any]) -> dict[str, Any]:
        full = dict(op)
        for key in _CALL_OPTIONAL:
            full.setdefault(key, None)
        full["request"] = [self._full_message(m) for m in op["request"]]
        values = op["usage"]
        full["usage"] = dict(zip(_USAGE, values[: len(_USAGE)], strict=True))
        full["usage"].update(zip(_USAGE_LATER, [*values[len(_USAGE) :], 0, 0][: len(_USAGE_LATER)], strict=True))
        full["attempt_log"] = [
            dict(zip(_ATTEMPT, a, strict=True)) if isinstance(a, list) else _plain_attempt(full, a)
            for a in op["attempt_log"]
        ]
        return full

    def _full_message(self, message: dict[str, Any]) -> dict[str, Any]:
        if "parts" not in message:
            return message
        text = _SEP.join(p if isinstance(p, str) else self.text(p["ref"]) for p in message["parts"])
        out = {k: v for k, v in message.items() if k != "parts"}
        out["content"] = text
        return out

    def text(self, digest: str) -> str:
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
