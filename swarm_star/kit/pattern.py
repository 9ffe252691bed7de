"""Orchestration patterns as swarms: ``decompose``, ``execute``, ``synthesize`` on the engine.

geepers' patterns (Dream Cascade, Dream Swarm, Sequential, Conditional,
Iterative) and your own are one shape here, a :class:`Pattern` with three hooks:

* ``decompose(run)`` -> the first wave of subtasks;
* ``execute(run, subtask)`` -> a subtask's result (optional: by default a
  subtask is done by a worker of the swarm, ``core/answer`` or the action the
  subtask names);
* ``synthesize(run, results)`` -> the final text, or another wave of subtasks
  (the next tier, step or round).

Why the engine runs them rather than a loop of calls: the pattern's node
(``patterns/run``) is a node like any other. Each activation reads its
children, calls one hook and returns operations: a wave is spawned as child
nodes (journaled calls, budgets, questions, the web view), and when they are
done the node runs again and synthesizes. A crash or a stop resumes where it
was; nothing committed is done twice. What the node keeps between activations
is only its children (each spawned with its wave, index and label), so a hook
must decide from ``run.results``, never from state of its own.

A pattern's name and JSON options are stored with the swarm (the root's
context). Python callables (a predicate, a convergence test, your own class)
cannot be stored: give the pattern object to each run
(``RunOptions(patterns=[...])``); a resumed run without it fails that node with
a message saying so.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel

from swarm_star import prompts
from swarm_star.engine.context import ActionContext
from swarm_star.errors import InputError
from swarm_star.models import NodeRole, NodeStatus, SwarmNode
from swarm_star.prompts import Purpose
from swarm_star.spaces import Space, ids

__all__ = [
    "MAX_WAVES",
    "PATTERNS",
    "Cascade",
    "Conditional",
    "DreamSwarm",
    "Iterative",
    "Pattern",
    "PatternRun",
    "Sequential",
    "Subtask",
    "SubtaskResult",
    "bind_patterns",
    "drive_pattern",
    "pattern_spec",
    "run_step",
]

MAX_WAVES = 100
"""Waves one pattern node may spawn (the swarm's node, call and time limits apply as well)."""
SEARCH_TOOL = "tools/web/search"


@dataclass(frozen=True)
class Subtask:
    """One unit of work of a wave. ``action``: the leaf that does it (default: the pattern's
    ``execute`` if it has one, else ``core.answer``)."""

    directive: str
    label: str = ""
    action: str | None = None


@dataclass(frozen=True)
class SubtaskResult:
    """A finished subtask: its report (``ok``) or its error."""

    wave: int
    index: int
    label: str
    directive: str
    node_id: str
    ok: bool
    text: str
    action: str = ""


class PatternRun:
    """What a hook sees: the task, the options, the results so far, and journaled model calls."""

    def __init__(self, ctx: ActionContext, options: Mapping[str, Any], results: list[SubtaskResult]) -> None:
        self.ctx = ctx
        self.options = dict(options)
        self.results = results

    @property
    def task(self) -> str:
        return self.ctx.node.directive

    @property
    def wave(self) -> int:
        """The number of waves done (0 in ``decompose``)."""
        return 1 + max((r.wave for r in self.results), default=-1)

    def last_wave(self) -> list[SubtaskResult]:
        return [r for r in self.results if r.wave == self.wave - 1]

    async def ask(
        self, messages: list[dict[str, str]], *, schema: type[BaseModel] | None = None, purpose: Purpose | str = ""
    ) -> Any:
        """A model call of this node (journaled: a resumed run does not pay for it again)."""
        return await self.ctx.ask_model(messages, purpose=purpose or Purpose.ANSWER, schema=schema)

    async def search_configured(self) -> bool:
        """Whether ``tools/web/search`` has a search server behind it."""
        return await self.ctx.tool_info(SEARCH_TOOL) is not None


class Pattern:
    """Subclass and override the hooks; ``name`` is how the swarm records which pattern it runs.

    ``options()`` is the JSON stored with the swarm, ``from_options`` rebuilds the
    pattern from it when a run is not given the object (a built-in's counts, steps,
    branches). Override ``execute`` to do a subtask in Python instead of by a worker.
    """

    name: ClassVar[str] = "custom"

    def options(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Pattern:
        return cls(**options)

    async def decompose(self, run: PatternRun) -> Sequence[Subtask | str]:
        raise NotImplementedError

    async def execute(self, run: PatternRun, subtask: Subtask) -> str:
        raise NotImplementedError

    async def synthesize(self, run: PatternRun, results: list[SubtaskResult]) -> str | Sequence[Subtask | str]:
        """Default: the successful results, one paragraph each."""
        good = [r.text.strip() for r in results if r.ok]
        if not good:
            raise InputError("every subtask failed")
        return "\n\n".join(good)

    @property
    def executes(self) -> bool:
        """Whether this pattern does subtasks in Python (``execute`` overridden)."""
        return type(self).execute is not Pattern.execute


# the built-in five (geepers' names in the docstrings)


def _good(results: Sequence[SubtaskResult], what: str) -> list[str]:
    good = [r.text for r in results if r.ok]
    if not good:
        raise InputError(f"every {what} failed: " + "; ".join(r.text for r in results)[:300])
    return good


class Cascade(Pattern):
    """Dream Cascade: tiers of workers, e.g. 8 quick researchers -> 3 analysts -> 1 synthesizer;
    each tier reads the tier before it (shared out among its workers)."""

    name = "cascade"

    def __init__(self, tiers: Sequence[int] = (5, 2, 1)) -> None:
        self.tiers = [int(t) for t in tiers]
        if not self.tiers or any(t < 1 for t in self.tiers) or len(self.tiers) > MAX_WAVES:
            raise InputError(f"cascade tiers must be counts of at least 1, e.g. 8,3,1; got {list(tiers)}")

    def options(self) -> dict[str, Any]:
        return {"tiers": self.tiers}

    async def decompose(self, run: PatternRun) -> list[Subtask]:
        n = self.tiers[0]
        return [Subtask(prompts.patterns.researcher(run.task, i + 1, n), f"researcher {i + 1}") for i in range(n)]

    async def synthesize(self, run: PatternRun, results: list[SubtaskResult]) -> str | list[Subtask]:
        tier = run.wave  # tiers done
        inputs = _good(run.last_wave(), f"worker of tier {tier}")
        if tier >= len(self.tiers):
            return inputs[0] if len(inputs) == 1 else "\n\n".join(inputs)
        count = self.tiers[tier]
        last = tier == len(self.tiers) - 1
        if last and count == 1:
            return [Subtask(prompts.patterns.synthesizer(run.task, inputs), "synthesizer")]
        shares = [inputs[i::count] or inputs for i in range(count)]
        role = "synthesizer" if last else "analyst"
        return [Subtask(prompts.patterns.analyst(run.task, s), f"{role} {i + 1}") for i, s in enumerate(shares)]


class DreamSwarm(Pattern):
    """Dream Swarm: one searcher per domain in parallel (``tools/web/search``), then one synthesis.
    Without a search server it says so in the report and covers each domain from the model."""

    name = "swarm"

    def __init__(self, domains: Sequence[str] = ("the web at large", "news", "academic and technical sources")) -> None:
        self.domains = [str(d) for d in domains if str(d).strip()]
        if not self.domains:
            raise InputError("Dream Swarm needs at least one domain")

    def options(self) -> dict[str, Any]:
        return {"domains": self.domains}

    async def decompose(self, run: PatternRun) -> list[Subtask]:
        if await run.search_configured():
            return [
                Subtask(prompts.patterns.domain_search(run.task, d), f"domain: {d}", ids.WEB_SEARCH)
                for d in self.domains
            ]
        return [Subtask(prompts.patterns.domain_no_search(run.task, d), f"domain: {d}") for d in self.domains]

    async def synthesize(self, run: PatternRun, results: list[SubtaskResult]) -> str | list[Subtask]:
        if run.wave == 1:
            found = [f"({r.label}) {r.text}" for r in results if r.ok]
            if not found:
                _good(results, "domain search")
            return [Subtask(prompts.patterns.synthesizer(run.task, found), "synthesizer")]
        final = _good(run.last_wave(), "synthesis")[0]
        searched = any(r.wave == 0 and r.action == ids.WEB_SEARCH for r in results)
        return final if searched else f"{final.strip()}\n\n{prompts.patterns.NO_SEARCH_NOTE}"


class Sequential(Pattern):
    """Sequential: steps in order, each seeing every earlier step's output."""

    name = "sequential"

    def __init__(self, steps: Sequence[str]) -> None:
        self.steps = [str(s) for s in steps if str(s).strip()]
        if not self.steps or len(self.steps) > MAX_WAVES:
            raise InputError(f"a sequential pattern needs 1-{MAX_WAVES} steps")

    def options(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def _step(self, run: PatternRun, index: int) -> list[Subtask]:
        previous = [r.text for r in run.results if r.ok]
        return [Subtask(prompts.patterns.sequential_step(run.task, self.steps[index], previous), f"step {index + 1}")]

    async def decompose(self, run: PatternRun) -> list[Subtask]:
        return self._step(run, 0)

    async def synthesize(self, run: PatternRun, results: list[SubtaskResult]) -> str | list[Subtask]:
        done = run.last_wave()
        _good(done, f"step {run.wave}")
        return self._step(run, run.wave) if run.wave < len(self.steps) else done[0].text


class Conditional(Pattern):
    """Conditional: a predicate picks a branch. ``condition`` is a Python callable of the task
    (library) or a sentence a model judges (CLI, HTTP)."""

    name = "conditional"

    def __init__(self, condition: str | Callable[[str], bool] | None, if_true: str, if_false: str) -> None:
        self.condition, self.if_true, self.if_false = condition, if_true, if_false
        if not (if_true.strip() and if_false.strip()):
            raise InputError("a conditional needs both branches (if_true and if_false)")

    def options(self) -> dict[str, Any]:
        text = self.condition if isinstance(self.condition, str) else None
        return {"condition": text, "if_true": self.if_true, "if_false": self.if_false}

    async def decompose(self, run: PatternRun) -> list[Subtask]:
        if callable(self.condition):
            holds, why = bool(self.condition(run.task)), "the predicate"
        elif isinstance(self.condition, str) and self.condition.strip():
            verdict = await run.ask(
                prompts.patterns.condition_messages(run.task, self.condition),
                schema=prompts.patterns.ConditionVerdict,
                purpose=Purpose.VERIFY,
            )
            holds, why = verdict.holds, verdict.reason or "the model's judgement"
        else:
            raise InputError(
                "this conditional's predicate is a Python callable, which is not stored: "
                "give the pattern to the run (RunOptions(patterns=[...]))"
            )
        chosen = self.if_true if holds else self.if_false
        return [Subtask(prompts.patterns.branch(run.task, chosen), f"branch {'true' if holds else 'false'} ({why})")]

    async def synthesize(self, run: PatternRun, results: list[SubtaskResult]) -> str:
        return _good(results, "branch")[0]


class Iterative(Pattern):
    """Iterative: draft, then refine until ``converged(text, iteration)`` (a Python callable) or the
    verifier says the draft does the task, at most ``max_iterations`` drafts in all."""

    name = "iterative"

    def __init__(
        self,
        max_iterations: int = 3,
        converged: Callable[[str, int], bool] | None = None,
        criteria: str | None = None,
    ) -> None:
        if not 1 <= max_iterations <= MAX_WAVES:
            raise InputError(f"max_iterations must be 1-{MAX_WAVES}, got {max_iterations}")
        self.max_iterations, self.converged, self.criteria = max_iterations, converged, criteria

    def options(self) -> dict[str, Any]:
        return {"max_iterations": self.max_iterations, "criteria": self.criteria}

    async def decompose(self, run: PatternRun) -> list[Subtask]:
        aim = f" It must meet: {self.criteria}" if self.criteria else ""
        return [Subtask(f"{run.task}{aim}", "draft 1")]

    async def synthesize(self, run: PatternRun, results: list[SubtaskResult]) -> str | list[Subtask]:
        draft = _good(run.last_wave(), f"draft {run.wave}")[0]
        notes: list[str] = []
        if self.converged is not None:
            done = bool(self.converged(draft, run.wave))
        else:
            task = f"{run.task}\n(It must meet: {self.criteria})" if self.criteria else run.task
            verdict = await run.ask(
                prompts.verify.judge_messages(task, draft), schema=prompts.verify.ResultVerdict, purpose=Purpose.VERIFY
            )
            done, notes = verdict.ok, list(verdict.reasons)
        if done:
            return draft
        if run.wave >= self.max_iterations:
            return f"{draft.strip()}\n\n[not converged after {self.max_iterations} iterations: the last draft]"
        label = f"draft {run.wave + 1}"
        return [Subtask(prompts.patterns.refine(run.task, draft, notes, self.criteria), label)]


PATTERNS: Mapping[str, type[Pattern]] = types.MappingProxyType(
    {p.name: p for p in (Cascade, DreamSwarm, Sequential, Conditional, Iterative)}
)
"""The built-in patterns by the name the CLI, the HTTP API and the stored swarm use."""


def pattern_spec(pattern: Pattern | Mapping[str, Any]) -> dict[str, Any]:
    """What the swarm stores (the root's context): the name and the JSON options. A mapping
    (``{"name": "cascade", "options": {"tiers": [8, 3, 1]}}``, from the CLI or HTTP) naming a
    built-in is checked by building it, so bad options fail before the swarm exists."""
    if isinstance(pattern, Pattern):
        return {"name": pattern.name, "options": pattern.options()}
    name, options = pattern.get("name"), pattern.get("options") or {}
    if not isinstance(name, str) or not name.strip() or not isinstance(options, Mapping):
        raise InputError('a pattern is {"name": "cascade|swarm|sequential|conditional|iterative", "options": {...}}')
    if name in PATTERNS:
        try:
            return pattern_spec(PATTERNS[name].from_options(options))
        except TypeError as exc:
            raise InputError(f"pattern {name!r}: {exc}") from None
    return {"name": name, "options": dict(options)}


# the engine side: the pattern node and its Python-executed subtasks


def _results(children: Sequence[SwarmNode]) -> list[SubtaskResult]:
    out = []
    for child in children:
        if "wave" not in child.context:
            continue
        ok = child.status == NodeStatus.TERMINATED and child.report is not None
        out.append(
            SubtaskResult(
                int(child.context["wave"]),
                int(child.context.get("index", 0)),
                str(child.context.get("label", "")),
                child.directive,
                child.id,
                ok,
                (child.report if ok else child.error) or "",
                child.action_id,
            )
        )
    return out


def _resolve(spec: Mapping[str, Any], given: Mapping[str, Pattern] | None) -> Pattern:
    name = str(spec.get("name", ""))
    if given and name in given:
        return given[name]
    built_in = PATTERNS.get(name)
    if built_in is None:
        raise InputError(
            f"pattern {name!r} is not built in: give it to the run (RunOptions(patterns=[...])) "
            f"or use one of {', '.join(PATTERNS)}"
        )
    return built_in.from_options(spec.get("options") or {})


async def drive_pattern(ctx: ActionContext, given: Mapping[str, Pattern] | None = None) -> list[Any]:
    """One activation of a pattern's node: decompose, or synthesize the wave just done."""
    spec = ctx.node.context.get("pattern") or {}
    try:
        pattern = _resolve(spec, given)
        run = PatternRun(ctx, spec.get("options") or {}, _results(ctx.children()))
        planned = await pattern.decompose(run) if run.wave == 0 else await pattern.synthesize(run, run.results)
    except InputError as exc:
        return [ctx.fail(f"pattern {spec.get('name')!r}: {exc}")]
    if isinstance(planned, str):
        return [ctx.terminate(planned)]
    subtasks = [s if isinstance(s, Subtask) else Subtask(str(s)) for s in planned]
    if not subtasks:
        return [ctx.fail(f"pattern {pattern.name!r} planned no subtasks")]
    if run.wave >= MAX_WAVES:
        return [ctx.fail(f"pattern {pattern.name!r} ran {MAX_WAVES} waves without finishing")]
    worker = ids.PATTERN_STEP if pattern.executes else ids.ANSWER
    return [
        ctx.spawn(
            NodeRole.ACTION,
            s.action or worker,
            s.directive,
            {"wave": run.wave, "index": i, "label": s.label or f"subtask {i + 1}"},
        )
        for i, s in enumerate(subtasks)
    ]


async def run_step(ctx: ActionContext, given: Mapping[str, Pattern] | None = None) -> list[Any]:
    """A subtask whose pattern does it in Python: the pattern's ``execute`` in this node."""
    parent = ctx.get(ctx.node.parent_id or "")
    spec = parent.context.get("pattern") or {}
    try:
        pattern = _resolve(spec, given)
        run = PatternRun(ctx, spec.get("options") or {}, [])
        label = str(ctx.node.context.get("label", ""))
        text = await pattern.execute(run, Subtask(ctx.node.directive, label))
    except InputError as exc:
        return [ctx.fail(f"pattern {spec.get('name')!r}: {exc}")]
    if not str(text or "").strip():
        return [ctx.fail(f"pattern {pattern.name!r}: execute returned nothing for {ctx.node.directive[:80]!r}")]
    return [ctx.terminate(str(text))]


def bind_patterns(actions: Space, patterns: Sequence[Pattern]) -> None:
    """Let this run's action space use ``patterns`` (objects with callables, your own classes):
    ``patterns/run`` and ``patterns/step`` are replaced, for this run only, by versions that know them."""
    given = {p.name: p for p in patterns}
    for leaf_id, call in ((ids.PATTERN, drive_pattern), (ids.PATTERN_STEP, run_step)):
        installed = actions.module(leaf_id)
        bound = types.ModuleType(installed.__name__)
        bound.SPEC = installed.SPEC  # type: ignore[attr-defined]

        async def run(ctx: ActionContext, _call: Any = call) -> list[Any]:
            return list(await _call(ctx, given))

        bound.run = run  # type: ignore[attr-defined]
        actions.modules[leaf_id] = bound
