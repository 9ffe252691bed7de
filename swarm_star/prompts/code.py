"""The coder's prompts: change a file in the workspace (``kit/coding.py``), write a new action.

A change is one :class:`PythonFile`: a whole file, or search/replace edits to an
existing one. A new action (``code/create_action``) is one module following
:data:`ACTION_CONTRACT`.
"""

from __future__ import annotations

from pydantic import Field

from swarm_star.prompts.labels import TASK
from swarm_star.prompts.structured import Reply

__all__ = [
    "ACTION_CONTRACT",
    "CODER_SYSTEM",
    "Edit",
    "NewAction",
    "PythonFile",
    "change_messages",
    "create_action_messages",
    "rejected_note",
    "tests_fail_note",
]

CODER_SYSTEM = (
    "You change code in a git workspace. Reply with one file change: a relative path "
    "(forward slashes, inside the workspace) and either the whole file in 'code' or "
    "search/replace 'edits' to an existing file, plus a one-line commit message."
)
ACTION_CONTRACT = """An action is one Python module:
    from swarm_star.spaces import LeafSpec
    SPEC = LeafSpec(name="<name>", description="<when a router should pick it>")
    async def run(ctx):
        # ctx.node.directive: the task; ctx.workspace: the swarm's workspace folder (a Path)
        # await ctx.ask_model([{"role": "user", "content": "..."}], purpose="...") -> str
        # utils: ctx.utils.module("<util id>").call(ctx.workspace, **args) -> str
        return [ctx.terminate("<report>")]   # or [ctx.fail("<one-line reason>")]
Use only the standard library, swarm_star and the utils listed."""


class Edit(Reply):
    """Replace one exact, unique piece of an existing file."""

    old: str = Field(description="exact text currently in the file (must occur once)")
    new: str


class PythonFile(Reply):
    """One change to one file: ``code`` (the whole file) or ``edits`` to an existing file."""

    path: str = Field(description="relative path inside the workspace, e.g. 'tools/parse.py'")
    code: str = Field("", description="the whole new file content; leave empty when giving edits")
    edits: list[Edit] = Field(default_factory=list, description="search/replace edits to an existing file")
    commit_message: str = Field(description="one line saying what the change does")


class NewAction(Reply):
    """The module the model proposes."""

    name: str = Field(description="lowercase identifier, e.g. 'count_todos'")
    description: str = Field(description="one line: when a router should pick this action")
    code: str = Field(description="the whole Python module")


def rejected_note(notes: list[str]) -> str:
    """Appended to a change request when a verifier rejected the previous attempt."""
    return "\n\nA reviewer rejected the previous attempt:\n" + "\n".join(f"- {n}" for n in notes)


def tests_fail_note(tail: str) -> str:
    """Appended to a change request when the tests fail: the end of their output."""
    return f"\n\nThe tests fail:\n{tail}"


def change_messages(directive: str, view: str, extra: str) -> list[dict[str, str]]:
    """The coder's request: the task, the workspace ``view``, then any notes (``extra``)."""
    return [
        {"role": "system", "content": CODER_SYSTEM},
        {"role": "user", "content": f"{TASK}{directive}\n\n{view}{extra}"},
    ]


def create_action_messages(directive: str, utils: str) -> list[dict[str, str]]:
    """Write a new action module; ``utils`` lists the util space's leaves it may call."""
    return [
        {"role": "system", "content": f"Write a new Swarm Star action.\n{ACTION_CONTRACT}\n\nUtils:\n{utils}"},
        {"role": "user", "content": f"{TASK}{directive}"},
    ]
