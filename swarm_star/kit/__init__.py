"""What actions import: the one door between ``actions/``, ``utils_space/`` and the library.

An action module (installed, or one a swarm wrote for itself) imports from
``swarm_star.kit`` only; a test checks it for the installed trees. What is
here is the contract between the library and its actions, so it is written
down once, in ``__all__``:

- the activation's view and its operations: :class:`ActionContext` (read the tree,
  call the model, spawn, terminate, fail, ask), :func:`is_refusal`,
  :func:`normalize_directive`, :data:`AFTER_KEY`, the model types and errors;
- tools: :func:`use_tool` (a tool leaf's bounded loop: calls journaled, approvals asked);
- what a node is told: :func:`brief`, :func:`directive_chain`; the words of every
  prompt: :mod:`prompts <swarm_star.prompts>` and :class:`Purpose`;
- checks and repairs: :func:`checked` / :class:`Attempt` (verify, repair, fall back),
  :func:`report_junk` / :func:`directive_junk` (is a model's text usable);
- code: :data:`CODER_ROLE`, :func:`code_attempt`, :class:`CodeWork`, :func:`run_command`, :data:`NOT_RUN`,
  :class:`Workspace`, :func:`install_action` (a swarm's own actions);
- spaces and primitives: :class:`LeafSpec`, :func:`route`, :func:`memory_space` (and its topic
  grouping: :func:`organizable`, :func:`check_topics`, :class:`ContextTopic`, :data:`LAYOUT_FOLDER`),
  :mod:`ids <swarm_star.spaces.ids>` (the action ids code names), fan-out and the
  hostfile patterns, :func:`compose_final_report`.

The kit sits above the engine: the engine never imports it (what both need,
such as :data:`AFTER_KEY` or :func:`report_junk`, lives below, in ``models``,
``engine/quality.py`` or ``spaces``).
"""

from swarm_star import prompts
from swarm_star.engine.context import ActionContext, is_refusal, normalize_directive
from swarm_star.engine.quality import directive_junk, report_junk
from swarm_star.errors import ModelOutputError, SpaceError, SwarmStarError
from swarm_star.kit.briefing import MEMORY_PICK, brief, directive_chain, memory_walk
from swarm_star.kit.coding import CODER_ROLE, NOT_RUN, CodeWork, code_attempt, run_command, start_snapshot
from swarm_star.kit.final_report import compose_final_report
from swarm_star.kit.own_actions import install_action
from swarm_star.kit.pattern import (
    Cascade,
    Conditional,
    DreamSwarm,
    Iterative,
    Pattern,
    PatternRun,
    Sequential,
    Subtask,
    SubtaskResult,
    drive_pattern,
    run_step,
)
from swarm_star.kit.router import PLANNED_ACTION, action_menu, menu_text, route
from swarm_star.kit.tool_loop import use_tool
from swarm_star.kit.verify import Attempt, checked
from swarm_star.kit.workspace import Workspace
from swarm_star.llm.client import ChatResult
from swarm_star.models import AFTER_KEY, ActionCreated, NodeRole, NodeStatus, SwarmNode, Usage
from swarm_star.primitives.aggregators import failure_report
from swarm_star.primitives.fanout import FanoutOptions, fanout
from swarm_star.primitives.patterns import broadcast, scatter_gather, tree_reduce
from swarm_star.primitives.pool import AgentPool, AgentReply, replies_usage
from swarm_star.prompts import Purpose
from swarm_star.spaces import LeafSpec, ids
from swarm_star.spaces.memory import (
    FILE_TITLE,
    LAYOUT_FOLDER,
    ContextTopic,
    check_topics,
    memory_space,
    organizable,
)
from swarm_star.spaces.menus import MAX_MENU

__all__ = [
    "AFTER_KEY",
    "CODER_ROLE",
    "FILE_TITLE",
    "LAYOUT_FOLDER",
    "MAX_MENU",
    "MEMORY_PICK",
    "NOT_RUN",
    "PLANNED_ACTION",
    "ActionContext",
    "ActionCreated",
    "AgentPool",
    "AgentReply",
    "Attempt",
    "Cascade",
    "ChatResult",
    "CodeWork",
    "Conditional",
    "ContextTopic",
    "DreamSwarm",
    "FanoutOptions",
    "Iterative",
    "LeafSpec",
    "ModelOutputError",
    "NodeRole",
    "NodeStatus",
    "Pattern",
    "PatternRun",
    "Purpose",
    "Sequential",
    "SpaceError",
    "Subtask",
    "SubtaskResult",
    "SwarmNode",
    "SwarmStarError",
    "Usage",
    "Workspace",
    "action_menu",
    "brief",
    "broadcast",
    "check_topics",
    "checked",
    "code_attempt",
    "compose_final_report",
    "directive_chain",
    "directive_junk",
    "drive_pattern",
    "failure_report",
    "fanout",
    "ids",
    "install_action",
    "is_refusal",
    "memory_space",
    "memory_walk",
    "menu_text",
    "normalize_directive",
    "organizable",
    "prompts",
    "replies_usage",
    "report_junk",
    "route",
    "run_command",
    "run_step",
    "scatter_gather",
    "start_snapshot",
    "tree_reduce",
    "use_tool",
]
