"""Communication patterns over an :class:`AgentPool`.

- ``broadcast``: one prompt to every agent, optionally reduced by one more call.
- ``scatter_gather``: many prompts dealt round-robin; replies in input order.
- ``tree_reduce``: answers summarized group by group until one is left.
- ``blackboard``: agents rewrite sections of a shared board over rounds until
  a convergence test says stop.
- ``pipeline``: stages as a DAG: a stage takes the outputs of the stages it
  names in ``after`` (by default the stage before it), with fan-out (each input
  to several agents) and fan-in (all outputs to one); independent stages run
  at the same time.

Aurora-Swarm's ``broadcast_and_reduce(pool, prompt, reduce_prompt)`` is here
under its own name (a template with ``{responses}``).

Failures are data here, not exceptions: every result lists its failed
replies, and a step whose inputs all failed says so instead of inventing text.
Every result has ``to_json()`` so it can be stored with a swarm node. The
default templates are ``prompts/swarm.py``'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from swarm_star.errors import InputError
from swarm_star.primitives.pool import AgentPool, AgentReply, OnReply, messages_for
from swarm_star.prompts.swarm import BOARD_PROMPT, REDUCE_PROMPT, TREE_PROMPT

__all__ = [
    "PIPELINE_INPUTS",
    "BlackboardResult",
    "BroadcastResult",
    "GroupFailure",
    "PipelineResult",
    "Stage",
    "StageResult",
    "TreeReduceResult",
    "blackboard",
    "broadcast",
    "broadcast_and_reduce",
    "pipeline",
    "scatter_gather",
    "tree_reduce",
    "unchanged",
]

MAX_BLACKBOARD_ROUNDS = 50


def _numbered(texts: Sequence[str]) -> str:
    return "\n\n".join(f"[{i + 1}] {t.strip()}" for i, t in enumerate(texts))


@dataclass
class BroadcastResult:
    replies: list[AgentReply]
    reduced: AgentReply | None = None

    @property
    def ok(self) -> list[AgentReply]:
        return [r for r in self.replies if r.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "replies": [r.to_json() for r in self.replies],
            "reduced": self.reduced.to_json() if self.reduced else None,
        }


async def broadcast(
    pool: AgentPool,
    prompt: str,
    *,
    system: str | None = None,
    reduce: bool | str = False,
    reducer: int = 0,
    deadline: float | None = None,
    on_reply: OnReply | None = None,
) -> BroadcastResult:
    """Send ``prompt`` to every agent. ``reduce``: True (default combine prompt) or a
    template with ``{prompt}``, ``{count}`` and ``{answers}`` (or ``{responses}``, the same);
    sent to agent ``reducer``."""
    if not 0 <= reducer < len(pool):
        raise InputError(f"no reducer agent {reducer}: the pool has {len(pool)}")
    messages = messages_for(prompt, system)
    replies = await pool.run([(agent, messages) for agent in pool], deadline=deadline, on_reply=on_reply)
    result = BroadcastResult(replies)
    good = result.ok
    if reduce and good:
        template = reduce if isinstance(reduce, str) else REDUCE_PROMPT
        answers = _numbered([r.text for r in good])
        try:
            text = template.format(prompt=prompt, count=len(good), answers=answers, responses=answers)
        except (KeyError, IndexError, ValueError) as exc:
            raise InputError(
                f"reduce template: {exc!r} (fields: {{prompt}}, {{count}}, {{answers}} or {{responses}})"
            ) from None
        result.reduced = await pool.ask(pool.agents[reducer], messages_for(text, system), index=len(replies))
    elif reduce:
        nothing = "no successful replies to reduce"
        result.reduced = AgentReply(len(replies), pool.agents[reducer].name, False, error=nothing)
    return result


async def broadcast_and_reduce(
    pool: AgentPool,
    prompt: str,
    reduce_prompt: str = REDUCE_PROMPT,
    *,
    reducer_agent_index: int = 0,
    system: str | None = None,
    deadline: float | None = None,
) -> AgentReply:
    """Aurora-Swarm's name: broadcast, then one agent combines the replies (``{responses}`` in
    ``reduce_prompt``); the combined reply has ``.text`` and ``.success``."""
    if not reduce_prompt.strip():
        raise InputError("reduce_prompt is empty")
    result = await broadcast(
        pool, prompt, system=system, reduce=reduce_prompt, reducer=reducer_agent_index, deadline=deadline
    )
    if result.reduced is None:  # not reached: a non-empty template always reduces (or says why not)
        raise InputError("nothing was reduced")
    return result.reduced


async def scatter_gather(
    pool: AgentPool,
    prompts: Sequence[str],
    *,
    system: str | None = None,
    deadline: float | None = None,
    on_reply: OnReply | None = None,
) -> list[AgentReply]:
    """Prompt ``i`` goes to agent ``i mod len(pool)``; replies come back in prompt order."""
    if not prompts:
        raise InputError("scatter needs at least one prompt")
    jobs = [(pool.agent_for(i), messages_for(p, system)) for i, p in enumerate(prompts)]
    return await pool.run(jobs, deadline=deadline, on_reply=on_reply)


@dataclass
class GroupFailure:
    """A tree-reduce group whose summary failed; its inputs went up unsummarized."""

    level: int
    group: int
    leaves: list[int]
    error: str


@dataclass
class TreeReduceResult:
    final: str | None
    leaves: list[AgentReply]
    levels: list[list[AgentReply]] = field(default_factory=list)
    failed_groups: list[GroupFailure] = field(default_factory=list)
    covered: list[int] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "final": self.final,
            "error": self.error,
            "covered": self.covered,
            "leaves": [r.to_json() for r in self.leaves],
            "levels": [[r.to_json() for r in level] for level in self.levels],
            "failed_groups": [asdict(g) for g in self.failed_groups],
        }


async def tree_reduce(
    pool: AgentPool,
    prompt: str,
    *,
    fan_in: int = 4,
    leaves: Sequence[str] | None = None,
    system: str | None = None,
    template: str = TREE_PROMPT,
    deadline: float | None = None,
    on_reply: OnReply | None = None,
) -> TreeReduceResult:
    """Leaf answers (every agent answers ``prompt``, unless ``leaves`` are given),
    then groups of ``fan_in`` summarized per level until one answer is left.

    A group whose summary fails is reported in ``failed_groups`` and its inputs
    go up a level as they are, so no leaf is silently lost; if a level cannot
    shrink the set at all, the reduction stops with ``error``.
    """
    if fan_in < 2:
        raise InputError(f"tree-reduce fan-in must be at least 2, got {fan_in}")
    if leaves is None:
        leaf_replies = (await broadcast(pool, prompt, system=system, deadline=deadline, on_reply=on_reply)).replies
    else:
        if not leaves:
            raise InputError("tree-reduce needs at least one leaf")
        leaf_replies = [AgentReply(i, "input", True, text) for i, text in enumerate(leaves)]
    result = TreeReduceResult(None, leaf_replies)
    # summaries go to agents that answered their leaf (a dead agent would fail every group)
    healthy = [pool.agents[r.index] for r in leaf_replies if r.ok] if leaves is None else pool.agents
    items: list[tuple[str, list[int]]] = [(r.text, [r.index]) for r in leaf_replies if r.ok]
    if not items:
        result.error = "every leaf failed"
        return result
    level = 0
    while len(items) > 1:
        level += 1
        groups = [items[i : i + fan_in] for i in range(0, len(items), fan_in)]
        carried = groups.pop() if len(groups[-1]) == 1 else []  # a lone answer needs no summary
        jobs = []
        for g, group in enumerate(groups):
            text = template.format(prompt=prompt, count=len(group), answers=_numbered([t for t, _ in group]))
            jobs.append((healthy[g % len(healthy)], messages_for(text, system)))
        replies = await pool.run(jobs, deadline=deadline, on_reply=on_reply)
        result.levels.append(replies)
        next_items: list[tuple[str, list[int]]] = []
        for g, (group, reply) in enumerate(zip(groups, replies, strict=True)):
            covered = sorted(i for _, idx in group for i in idx)
            if reply.ok:
                next_items.append((reply.text, covered))
            else:
                result.failed_groups.append(GroupFailure(level, g, covered, reply.error or "failed"))
                next_items.extend(group)
        next_items.extend(carried)
        if len(next_items) >= len(items):
            result.error = f"level {level}: every group failed; nothing could be reduced"
            return result
        items = next_items
    result.final, result.covered = items[0][0], items[0][1]
    return result


Convergence = Callable[[dict[str, str], dict[str, str]], bool]


def unchanged(before: dict[str, str], after: dict[str, str]) -> bool:
    """Default convergence: no section's text changed (ignoring whitespace)."""
    return all(" ".join(before[k].split()) == " ".join(after[k].split()) for k in after)


@dataclass
class BlackboardResult:
    board: dict[str, str]
    rounds: int
    converged: bool
    history: list[list[AgentReply]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "rounds": self.rounds,
            "converged": self.converged,
            "history": [[r.to_json() for r in rnd] for rnd in self.history],
        }


async def blackboard(
    pool: AgentPool,
    task: str,
    sections: Sequence[str] | dict[str, str],
    *,
    rounds: int = 3,
    converged: Convergence = unchanged,
    max_section_chars: int = 4000,
    system: str | None = None,
    deadline: float | None = None,
    on_reply: OnReply | None = None,
) -> BlackboardResult:
    """Each round every section is rewritten by one agent (the assignment rotates
    each round) who sees the whole board; a failed rewrite keeps the old text.
    Stops when ``converged(before, after)`` or after ``rounds`` rounds. Sections
    are cut to ``max_section_chars`` so the board cannot grow without bound."""
    if not 1 <= rounds <= MAX_BLACKBOARD_ROUNDS:
        raise InputError(f"blackboard rounds must be 1-{MAX_BLACKBOARD_ROUNDS}, got {rounds}")
    board = dict(sections) if isinstance(sections, dict) else {name: "" for name in sections}
    if not board:
        raise InputError("a blackboard needs at least one section")
    result = BlackboardResult(board, 0, False)
    for rnd in range(rounds):
        shown = "\n".join(f"## {name}\n{text or '(empty)'}" for name, text in board.items())
        jobs = [
            (
                pool.agent_for(rnd + s),
                messages_for(BOARD_PROMPT.format(task=task, round=rnd + 1, board=shown, section=name), system),
            )
            for s, name in enumerate(board)
        ]
        replies = await pool.run(jobs, deadline=deadline, on_reply=on_reply)
        result.history.append(replies)
        after = {
            name: (reply.text.strip()[:max_section_chars] if reply.ok else board[name])
            for name, reply in zip(board, replies, strict=True)
        }
        result.rounds = rnd + 1
        done = converged(board, after)
        board = after
        if done:
            result.converged = True
            break
    result.board = board
    return result


@dataclass
class Stage:
    """One pipeline stage. ``prompt`` has ``{input}``; each input goes to
    ``fan_out`` agents; with ``fan_in`` (a template with ``{inputs}``) all of the
    stage's outputs are combined by one more call into a single output.

    ``after`` names the earlier stages whose outputs are this stage's inputs, in
    that order (a DAG: several stages may feed one, one may feed several). Left
    empty, a stage takes the stage before it, and the first stage the pipeline's
    inputs; ``after=(PIPELINE_INPUTS,)`` gives any stage the pipeline's inputs."""

    name: str
    prompt: str
    fan_out: int = 1
    fan_in: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    after: tuple[str, ...] = ()


PIPELINE_INPUTS = "inputs"
"""The name, in ``Stage.after``, of the pipeline's own inputs."""


@dataclass
class StageResult:
    name: str
    replies: list[AgentReply]
    outputs: list[str]
    combined: AgentReply | None = None


@dataclass
class PipelineResult:
    """``outputs`` are the last listed stage's; every stage's are in ``stages`` (in the order they ran)."""

    stages: list[StageResult]
    outputs: list[str]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "outputs": self.outputs,
            "error": self.error,
            "stages": [
                {
                    "name": s.name,
                    "outputs": s.outputs,
                    "replies": [r.to_json() for r in s.replies],
                    "combined": s.combined.to_json() if s.combined else None,
                }
                for s in self.stages
            ],
        }


def _stage_parents(stages: Sequence[Stage]) -> dict[str, tuple[str, ...]]:
    """Each stage's parents, checked: unique names, known and earlier parents (so no cycle)."""
    parents: dict[str, tuple[str, ...]] = {}
    for position, stage in enumerate(stages):
        if stage.fan_out < 1:
            raise InputError(f"stage {stage.name}: fan_out must be at least 1")
        if stage.name in parents or stage.name == PIPELINE_INPUTS:
            raise InputError(f"stage name {stage.name!r} is used twice (or is the reserved {PIPELINE_INPUTS!r})")
        after = stage.after or ((stages[position - 1].name,) if position else (PIPELINE_INPUTS,))
        unknown = [name for name in after if name != PIPELINE_INPUTS and name not in parents]
        if unknown:
            raise InputError(f"stage {stage.name}: after {unknown[0]!r}, which is not an earlier stage")
        parents[stage.name] = tuple(after)
    return parents


async def pipeline(
    pool: AgentPool,
    stages: Sequence[Stage],
    inputs: Sequence[str],
    *,
    system: str | None = None,
    deadline: float | None = None,
    on_reply: OnReply | None = None,
) -> PipelineResult:
    """Run ``inputs`` through ``stages`` (a DAG, see :class:`Stage`): every stage whose parents are
    done runs, those at the same time concurrently; a stage with no successful output ends the
    pipeline with ``error`` naming it (stages already started finish)."""
    if not stages or not inputs:
        raise InputError("a pipeline needs at least one stage and one input")
    parents = _stage_parents(stages)
    outputs: dict[str, list[str]] = {PIPELINE_INPUTS: list(inputs)}
    result = PipelineResult([], [])
    waiting = list(stages)
    while waiting:
        ready = [stage for stage in waiting if all(p in outputs for p in parents[stage.name])]
        waiting = [stage for stage in waiting if stage not in ready]
        feeds = {stage.name: [item for p in parents[stage.name] for item in outputs[p]] for stage in ready}
        runs = [_run_stage(pool, stage, feeds[stage.name], system, deadline, on_reply) for stage in ready]
        wave = await asyncio.gather(*runs)
        result.stages.extend(wave)
        for step in wave:
            if not step.outputs:
                result.error = f"stage {step.name}: no successful output"
                return result
            outputs[step.name] = step.outputs
    result.outputs = outputs[stages[-1].name]
    return result


async def _run_stage(
    pool: AgentPool,
    stage: Stage,
    items: list[str],
    system: str | None,
    deadline: float | None,
    on_reply: OnReply | None,
) -> StageResult:
    agents = pool.where(**stage.tags) if stage.tags else pool
    jobs = [
        (agents.agent_for(i * stage.fan_out + k), messages_for(stage.prompt.format(input=item), system))
        for i, item in enumerate(items)
        for k in range(stage.fan_out)
    ]
    replies = await agents.run(jobs, deadline=deadline, on_reply=on_reply)
    step = StageResult(stage.name, replies, [r.text for r in replies if r.ok])
    if step.outputs and stage.fan_in:
        combined = await agents.ask(
            agents.agents[0], messages_for(stage.fan_in.format(inputs=_numbered(step.outputs)), system), index=len(jobs)
        )
        step.combined = combined
        step.outputs = [combined.text] if combined.ok else []
    return step
