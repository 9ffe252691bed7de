"""The tree as ``tree`` and ``questions`` show it, read from the stored records without pydantic.

Why: at 10,000 nodes, importing pydantic and building the models' classes was about a
third of ``tree`` (0.14 of 0.5 s CPU, issue 25), and a command that only draws the tree
needs none of it. The records this release writes (the meta, the schema-2 node records)
are read here into plain slotted objects with the models' attribute names
(:class:`NodeView`, :class:`UsageView`, :class:`QuestionView`, :class:`CheckView`),
after checking every value is exactly the type the model would hold: the test
(:func:`node_view`) that :func:`~swarm_star.state.frame_codec.stored_node` applies
before it builds the model from the same values, so the two agree by construction.

Anything else — a record from an older release, a value of another type, a record a
later release wrote, a projection without ``memory_mark`` — makes :func:`read_view`
return None, and the caller reads the swarm the general way
(:meth:`~swarm_star.state.reader.SwarmReader.load`), which migrates it, validates it or
says in one line what is wrong, as before. The swarm record itself is not validated
here (the tree does not show it): only that it exists and is of a format this release
reads; every command that runs or changes a swarm validates it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from swarm_star.errors import StoreCorrupt, StoreError, SwarmNotFound
from swarm_star.models.basics import NodeRole, NodeStatus, SwarmStatus, UsageText, is_pending
from swarm_star.state.clock import RunClock
from swarm_star.state.layout import (
    META_KEY,
    META_SCHEMA,
    NODE_FIELDS,
    NODE_PREFIX,
    NODE_SCHEMA,
    RECORD_KEY,
    SCHEMA_VERSION,
    TEXT_PREFIX,
    USAGE_FIELDS,
)
from swarm_star.store.base import KVStore

__all__ = [
    "CheckView",
    "NodeView",
    "QuestionView",
    "TreeView",
    "UsageView",
    "node_view",
    "read_meta",
    "read_view",
    "record_summary",
    "shared_text",
    "tree_order",
]


class UsageView(UsageText):
    """A node's or a swarm's spend, as :class:`~swarm_star.models.node.Usage` holds it."""

    __slots__ = USAGE_FIELDS

    def __init__(
        self,
        calls: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: float = 0.0,
        unpriced_calls: int = 0,
        cached_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> None:
        self.calls = calls
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.cost = cost
        self.unpriced_calls = unpriced_calls
        self.cached_tokens = cached_tokens
        self.cache_write_tokens = cache_write_tokens


class QuestionView:
    """A question a node put to the user (:class:`~swarm_star.models.node.Question`)."""

    __slots__ = ("answer", "id", "text")

    def __init__(self, id: str, text: str, answer: str | None = None) -> None:
        self.id = id
        self.text = text
        self.answer = answer


class CheckView:
    """One verdict on a node's result (:class:`~swarm_star.models.node.Check`)."""

    __slots__ = ("model", "ok", "reasons", "stage")

    def __init__(self, stage: str, model: str | None, ok: bool, reasons: list[str]) -> None:
        self.stage = stage
        self.model = model
        self.ok = ok
        self.reasons = reasons


class NodeView:
    """One node as its stored record holds it, with :class:`~swarm_star.models.node.SwarmNode`'s
    attribute names and values (``schema_version`` aside: a view is never written back)."""

    __slots__ = (
        "action_id",
        "activations",
        "calls",
        "checks",
        "children",
        "context",
        "created_at",
        "depth",
        "directive",
        "error",
        "id",
        "memory_mark",
        "parent_id",
        "partial",
        "questions",
        "report",
        "role",
        "status",
        "updated_at",
        "usage",
    )

    def __init__(
        self,
        node_id: str,
        role: NodeRole,
        action_id: str,
        directive: str,
        status: NodeStatus,
        created_at: float,
        updated_at: float,
        report: str | None,
        context: dict[str, Any],
        children: list[str],
        memory_mark: int | None,
        activations: int,
        usage: UsageView,
        calls: list[str],
        error: str | None,
        partial: str | None,
        questions: list[QuestionView],
        checks: list[CheckView],
    ) -> None:
        self.id = node_id
        self.parent_id = node_id.rpartition(".")[0] or None
        self.depth = node_id.count(".")
        self.role = role
        self.action_id = action_id
        self.directive = directive
        self.status = status
        self.created_at = created_at
        self.updated_at = updated_at
        self.report = report
        self.context = context
        self.children = children
        self.memory_mark = memory_mark
        self.activations = activations
        self.usage = usage
        self.calls = calls
        self.error = error
        self.partial = partial
        self.questions = questions
        self.checks = checks

    def pending_question(self) -> QuestionView | None:
        return next((q for q in self.questions if q.answer is None), None)


@dataclass(slots=True)
class TreeView:
    """The latest state as the read commands show it (the stored projection: no history, no
    recorded calls, no memory), with :class:`~swarm_star.state.projection.SwarmState`'s names."""

    status: SwarmStatus
    frame_count: int
    stop_reason: str | None
    usage: UsageView
    clock: RunClock
    nodes: dict[str, NodeView]

    @property
    def root(self) -> NodeView | None:
        return next((n for n in self.nodes.values() if n.parent_id is None), None)

    def pending_questions(self) -> list[tuple[NodeView, QuestionView]]:
        """Unanswered questions, node by node in the order a replay makes the nodes (by creation
        time, then tree order), as :meth:`SwarmState.pending_questions` gives them: only the
        nodes that ask are sorted, not the whole tree."""
        asked = [(node, q) for node in self.nodes.values() for q in node.questions if is_pending(node.status, q.answer)]
        return sorted(asked, key=lambda pair: (pair[0].created_at, tree_order(pair[0].id)))  # stable


_ROLES = {role.value: role for role in NodeRole}
_STATUSES = {status.value: status for status in NodeStatus}
_SWARM_STATUSES = {status.value: status for status in SwarmStatus}
_NO_VALUES = [None] * len(NODE_FIELDS)
_USAGE_TYPES = [float if name == "cost" else int for name in USAGE_FIELDS]
_STR = {str}
_QUESTION_KEYS = {"id", "text", "answer"}
_CHECK_KEYS = {"stage", "model", "ok", "reasons"}
_META_USAGE_KEYS = set(USAGE_FIELDS)
Text = Callable[[str], str]
"""Looks up shared text by digest (raises StoreCorrupt when the row is missing)."""


def shared_text(store: KVStore) -> Text:
    """The shared text of ``store`` by digest, each row read once."""
    seen: dict[str, str] = {}

    def text(digest: str) -> str:
        found = seen.get(digest)
        if found is None:
            found = store.get(TEXT_PREFIX + digest)
            if not isinstance(found, str):
                raise StoreCorrupt(f"history refers to shared text {digest} that is missing from the store")
            seen[digest] = found
        return found

    return text


def _text_or_ref(value: Any, text: Text) -> str | None:
    """A stored text field: the text, or the shared text a reference names; None when the value is neither."""
    if type(value) is str:
        return value
    if type(value) is dict and len(value) == 1 and type(value.get("ref")) is str:
        return text(value["ref"])
    return None


def _usage(raw: Any) -> UsageView | None:
    if raw is None:
        return UsageView()
    if type(raw) is not list or not raw or len(raw) > len(USAGE_FIELDS):
        return None
    counts = [*raw, *[0] * (len(USAGE_FIELDS) - len(raw))]
    counts[3] = _float(counts[3]) if len(raw) > 3 else 0.0
    if list(map(type, counts)) != _USAGE_TYPES:  # exactly: no bool for an int
        return None
    return UsageView(*counts)


def _float(value: Any) -> Any:
    """A stored float as the model holds it: an integral one may come back as an int (Cosmos DB
    returns ``0.0`` as ``0``; pydantic turns it into ``0.0``); anything else unchanged, for the
    caller's type check to refuse."""
    return float(value) if type(value) is int else value


def _question(raw: Any) -> QuestionView | None:
    if type(raw) is not dict or not raw.keys() <= _QUESTION_KEYS:
        return None
    qid, asked, answer = raw.get("id"), raw.get("text"), raw.get("answer")
    if type(qid) is not str or type(asked) is not str or not (answer is None or type(answer) is str):
        return None
    return QuestionView(qid, asked, answer)


def _check(raw: Any) -> CheckView | None:
    if type(raw) is not dict or not raw.keys() <= _CHECK_KEYS:
        return None
    stage, model, ok, reasons = raw.get("stage"), raw.get("model"), raw.get("ok"), raw.get("reasons", [])
    if (
        type(stage) is not str
        or not (model is None or type(model) is str)
        or type(ok) is not bool
        or type(reasons) is not list
        or not set(map(type, reasons)) <= _STR
    ):
        return None
    return CheckView(stage, model, ok, reasons)


def _all(make: Callable[[Any], Any], raw: Any) -> list[Any] | None:
    """``make`` applied to each item of a stored list (none: ``[]``); None when it is not a list
    or ``make`` refuses an item."""
    if raw is None:
        return []
    made = [make(item) for item in raw] if type(raw) is list else [None]
    return None if None in made else made


def node_view(raw: Any, node_id: str, text: Text) -> NodeView | None:
    """The node of a schema-2 record as this release writes it; None when the record is anything
    else (another schema, a trailing dict, a value of another type than the writer gives).

    Every value is checked to be exactly the type the model holds (enums looked up, ``int`` not
    ``bool``), so a node read here equals the validated one (a test compares them record by record)."""
    if type(raw) is not list or not 1 < len(raw) <= 1 + len(NODE_FIELDS) or raw[0] != NODE_SCHEMA:
        return None
    values = raw[1:]
    values += _NO_VALUES[len(values) :]
    (role, action_id, directive, status, created, updated, report, context, children) = values[:9]
    created, updated = _float(created), _float(updated)
    (mark, activations, usage, calls, error, partial, questions, checks) = values[9:]
    role = _ROLES.get(role) if type(role) is str else None
    status = NodeStatus.PENDING if status is None else _STATUSES.get(status) if type(status) is str else None
    if type(directive) is not str:
        directive = _text_or_ref(directive, text)
    if report is not None and type(report) is not str and (report := _text_or_ref(report, text)) is None:
        return None
    if children is None:
        children = []
    elif type(children) is int and children >= 0:
        children = [f"{node_id}.{i}" for i in range(children)]
    elif type(children) is not list or not set(map(type, children)) <= _STR:
        return None
    asked = [] if questions is None else _all(_question, questions)
    checked = [] if checks is None else _all(_check, checks)
    if (
        role is None
        or status is None
        or directive is None
        or type(action_id) is not str
        or type(created) is not float
        or type(updated) is not float
        or not (context is None or type(context) is dict)
        or not (mark is None or type(mark) is int)
        or not (activations is None or type(activations) is int)
        or not (calls is None or (type(calls) is list and set(map(type, calls)) <= _STR))
        or not (error is None or type(error) is str)
        or not (partial is None or type(partial) is str)
        or (spent := UsageView() if usage is None else _usage(usage)) is None
        or asked is None
        or checked is None
    ):
        return None
    return NodeView(
        node_id,
        role,
        action_id,
        directive,
        status,
        created,
        updated,
        report,
        {} if context is None else context,
        children,
        mark,
        activations or 0,
        spent,
        [] if calls is None else calls,
        error,
        partial,
        asked,
        checked,
    )


def tree_order(node_id: str) -> list[int]:
    """A node id's sort key among its siblings' (``0.10`` after ``0.9``); a part that is not a
    number sorts as 0."""
    parts = node_id.split(".")
    if node_id.isascii() and node_id.replace(".", "").isdigit() and "" not in parts:
        return list(map(int, parts))  # what an id is (NODE_ID), the quick way
    return [int(p) if p.isdigit() else 0 for p in parts]


def _meta_usage(raw: Any) -> UsageView | None:
    if raw is None:
        return UsageView()
    if type(raw) is not dict or not raw.keys() <= _META_USAGE_KEYS:
        return None
    counts = [_float(raw.get(name, 0.0)) if name == "cost" else raw.get(name, 0) for name in USAGE_FIELDS]
    return UsageView(*counts) if list(map(type, counts)) == _USAGE_TYPES else None


def read_meta(store: KVStore) -> dict[str, Any] | None:
    """The stored meta record (frame count, status, usage totals), None if there is none;
    StoreError when a newer release wrote it (:meth:`SwarmReader.read_meta` is this)."""
    meta = store.get(META_KEY)
    if isinstance(meta, dict) and int(meta.get("schema_version", 1)) > META_SCHEMA:
        raise StoreError(
            f"the swarm was written by a newer Swarm Star (format {meta['schema_version']}, "
            f"this one reads up to {META_SCHEMA}): upgrade"
        )
    return meta


def record_summary(store: KVStore) -> tuple[str, float] | None:
    """The directive and creation time of the swarm record, when it is a record of this release's
    format whose two fields have the model's types; None for anything else (the caller validates
    it then: ``list`` shows what is wrong in the swarm's row). The settings are not looked at."""
    raw = store.get(RECORD_KEY)
    if type(raw) is not dict or raw.get("schema_version") != SCHEMA_VERSION:
        return None
    directive, created = raw.get("directive"), _float(raw.get("created_at"))
    return (directive, created) if type(directive) is str and type(created) is float else None


def _nodes(store: KVStore, text: Text) -> Iterator[NodeView | None]:
    start = len(NODE_PREFIX)
    for key, raw in store.scan(NODE_PREFIX):
        yield node_view(raw, key[start:], text)


def read_view(store: KVStore) -> TreeView | None:
    """The latest tree from ``store``'s stored projection, or None when any record is not one
    this release writes (the caller then reads it the general way: see the module docstring).
    SwarmNotFound when there is no swarm record. The nodes are in key order (drawing walks the
    children; :meth:`TreeView.pending_questions` sorts the few it returns)."""
    record = store.get(RECORD_KEY)
    if record is None:
        raise SwarmNotFound("no swarm record in this store")
    if type(record) is not dict or record.get("schema_version") != SCHEMA_VERSION:
        return None
    meta = store.get(META_KEY)
    if type(meta) is not dict or type(meta.get("frame_count")) is not int:
        return None
    meta_version = meta.get("schema_version", 1)
    stored_status = meta.get("status", SwarmStatus.CREATED.value)
    status = _SWARM_STATUSES.get(stored_status) if type(stored_status) is str else None
    stop_reason = meta.get("stop_reason")
    usage = _meta_usage(meta.get("usage"))
    clock = meta.get("clock")
    if (
        type(meta_version) is not int
        or meta_version > META_SCHEMA
        or status is None
        or not (stop_reason is None or type(stop_reason) is str)
        or usage is None
        or not (clock is None or type(clock) is dict)
    ):
        return None
    nodes: dict[str, NodeView] = {}
    for node in _nodes(store, shared_text(store)):
        if node is None or node.memory_mark is None:  # memory_mark None: written before it existed (a replay fills it)
            return None
        nodes[node.id] = node
    run_clock = RunClock()
    if clock is not None:  # stored since issue 26; before, a loaded state's clock starts at 0
        run_clock = RunClock.from_json(clock)
    return TreeView(status, meta["frame_count"], stop_reason, usage, run_clock, nodes)
