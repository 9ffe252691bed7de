"""Why a call is made, and the completion cap that follows from it.

A :class:`Purpose` labels every model call and journaled step the library makes;
its value is the label stored in the call's frame (``LLMCall.purpose``), so
swarms recorded before the enum existed read the same. Each model-call purpose
names its completion cap here, explicitly: a route is one word of JSON, a plan
or a review a paragraph or two, code the most.

Why an enum and not text: caps used to be chosen by a substring of a free-text
label, so "summarize the plan" would silently have had the plan's cap. Now
only a :class:`Purpose` member has a cap of its own; any other label (an
action of the user's or the swarm's own passing free text) is a label only and
gets the client's default cap. The request digest does not include the purpose,
so relabelling never makes a recorded reply miss its request.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Purpose"]


class Purpose(StrEnum):
    """Every purpose the library uses; ``max_tokens`` is its completion cap (None: not a model call)."""

    # routers: one word of JSON
    ROUTE = "route"
    ROUTE_AGAIN = "route again"
    MEMORY_ROUTE = "memory route"
    UTIL_ROUTE = "util route"
    MEMORY_FOR_PROMPT = "memory for prompt"
    # planners and reviewers
    PLAN = "plan"
    PLAN_AGAIN = "plan again"
    REVIEW = "review"
    SPLIT_BATCH = "split batch"
    # workers
    ANSWER = "answer"
    REPAIR_ANSWER = "repair answer"
    PHRASE_QUESTION = "phrase question"
    FOLLOW_UP = "follow up"
    MEMORY_NOTE = "memory note"
    ORGANIZE_MEMORY = "organize memory"
    UTIL_ARGS = "util args"
    TOOL_STEP = "tool step"
    WRITE_CODE = "write code"
    REPAIR_CODE = "repair code"
    FIX_CODE = "fix code"
    CREATE_ACTION = "create action"
    CANDIDATE = "candidate"
    SYNTHESIS = "synthesis"
    # verifiers and probes
    VERIFY = "verify"
    DOCTOR_PROBE = "doctor probe"
    # journaled steps that are not model calls (no completion to cap)
    RUN_TESTS = "run tests"
    BROADCAST = "broadcast"
    SCATTER = "scatter"
    TREE_REDUCE = "tree_reduce"

    @property
    def max_tokens(self) -> int | None:
        """The completion cap of a call with this purpose (None for a step that calls no model)."""
        return _CAPS[self]


_CAPS: dict[Purpose, int | None] = {
    Purpose.ROUTE: 96,
    Purpose.ROUTE_AGAIN: 96,
    Purpose.MEMORY_ROUTE: 96,
    Purpose.UTIL_ROUTE: 96,
    Purpose.MEMORY_FOR_PROMPT: 1024,  # a route too, but it always had the default cap: kept as it was
    Purpose.PLAN: 1024,
    Purpose.PLAN_AGAIN: 1024,
    Purpose.REVIEW: 1024,
    Purpose.SPLIT_BATCH: 1024,
    Purpose.ANSWER: 1536,
    Purpose.REPAIR_ANSWER: 1536,
    Purpose.PHRASE_QUESTION: 256,
    Purpose.FOLLOW_UP: 512,
    Purpose.MEMORY_NOTE: 768,
    Purpose.ORGANIZE_MEMORY: 2048,  # up to 11 topics naming up to 132 entries by number
    Purpose.UTIL_ARGS: 512,
    Purpose.TOOL_STEP: 1024,
    Purpose.WRITE_CODE: 4096,
    Purpose.REPAIR_CODE: 4096,
    Purpose.FIX_CODE: 4096,
    Purpose.CREATE_ACTION: 1024,
    Purpose.CANDIDATE: 1536,
    Purpose.SYNTHESIS: 2048,
    Purpose.VERIFY: 1024,
    Purpose.DOCTOR_PROBE: 1024,
    Purpose.RUN_TESTS: None,
    Purpose.BROADCAST: None,
    Purpose.SCATTER: None,
    Purpose.TREE_REDUCE: None,
}
