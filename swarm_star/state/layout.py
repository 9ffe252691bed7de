"""One swarm's key layout and the versions of its record formats, without the models.

Every module that reads or writes keys imports them from here (the layout is drawn in
:mod:`swarm_star.state.reader`'s docstring); they live here so that the read commands' plain
path (:mod:`swarm_star.state.tree_view`) reads the same keys and formats without importing
pydantic (issue 25).
"""

from __future__ import annotations

__all__ = [
    "HISTORY_PREFIX",
    "INBOX_PREFIX",
    "INSTALLED_SPACE_KEYS",
    "MEMORY_PREFIX",
    "META_KEY",
    "META_SCHEMA",
    "NODE_FIELDS",
    "NODE_PREFIX",
    "NODE_SCHEMA",
    "OWN_ACTION_PREFIX",
    "RECORD_KEY",
    "SCHEMA_VERSION",
    "TEXT_PREFIX",
    "TOOL_LISTING_PREFIX",
    "USAGE_FIELDS",
]

RECORD_KEY = "swarm_state_record"
META_KEY = "swarm_state_meta"
NODE_PREFIX = "swarm_state_node_"
HISTORY_PREFIX = "swarm_history_"
MEMORY_PREFIX = "memory_space_"
TEXT_PREFIX = "swarm_text_"
"""Shared text, stored once under its digest (``frame_codec.py``)."""
INSTALLED_SPACE_KEYS = {"actions": "action_space_installed", "utils": "util_space_installed"}
"""Per space kind, the key of the installed tree's metadata as this swarm recorded it."""
OWN_ACTION_PREFIX = "action_space_own."
"""An action the swarm created (``own.{name}`` in its action space), with its code."""
INBOX_PREFIX = "swarm_inbox_"
"""An answer queued for a running or stopped swarm (``swarm_inbox_{question id}``): written by
``answer``, taken in by the engine (``engine/inbox.py``)."""
TOOL_LISTING_PREFIX = "action_space_tools_"
"""An MCP server's tools as listed once (``tools/{server}`` in the action space)."""

SCHEMA_VERSION = 1
"""The newest format of the swarm record (and of the limits and settings in it) this release writes and reads."""
META_SCHEMA = 2
"""The meta record's format. 2 (issue 25) is the same record; it says the store may hold schema-4
frames and schema-2 node and memory records, so a release that reads neither refuses the store
at its meta ("written by a newer Swarm Star") instead of misreading it."""
NODE_SCHEMA = 2
"""Node records: 1 is the node's ``model_dump`` (defaults left out), 2 the lean form (``frame_codec.py``)."""
NODE_FIELDS = (
    "role",
    "action_id",
    "directive",
    "status",
    "created_at",
    "updated_at",
    "report",
    "context",
    "children",
    "memory_mark",
    "activations",
    "usage",
    "calls",
    "error",
    "partial",
    "questions",
    "checks",
)
"""Node records (schema 2): the fields stored positionally, in stored order (pinned like
``frame_codec.OP_FIELDS``). ``id`` is the key's; ``parent_id`` and ``depth`` are the id's unless the
record's trailing dict says otherwise; ``usage`` is a list in the order of :data:`USAGE_FIELDS`."""
USAGE_FIELDS = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "unpriced_calls",
    "cached_tokens",
    "cache_write_tokens",
)
"""A usage stored as a list (a node record's, a call's): its counts in this order, trailing
zeros left off (the last two were added later)."""
