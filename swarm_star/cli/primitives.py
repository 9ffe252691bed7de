"""``swarm-star fanout`` and ``swarm-star agents ...``: the primitives without a swarm.

Kept apart from the swarm commands because these commands need no store:
they talk to models and print. The exit codes are the same table: 0 when
there is an answer, 1 when every call failed, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from swarm_star.cli.flags import HelpFormatter, lazy_help
from swarm_star.cli.models import note_stripped_url, use_served_model
from swarm_star.errors import InputError, ModelError

if TYPE_CHECKING:
    from swarm_star.primitives.fanout import Candidate
    from swarm_star.primitives.pool import (
        AgentPool,
        AgentReply,
    )

__all__ = ["Progress", "add_primitive_commands", "cmd_agents", "cmd_fanout"]


class Progress:
    """A one-line progress bar, redrawn at most every 0.1 s; silent when not on a terminal."""

    def __init__(self, label: str, total: int, stream: TextIO, enabled: bool) -> None:
        self.label, self.total, self.stream, self.enabled = label, total, stream, enabled
        self.done = self.failed = 0
        self._started = self._drawn = time.monotonic()

    def __call__(self, reply: AgentReply) -> None:
        self.done += 1
        self.failed += 0 if reply.ok else 1
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= 0.1 or self.done >= self.total):
            self._drawn = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        width = 24
        filled = width * self.done // max(self.total, 1)
        elapsed = (now or time.monotonic()) - self._started
        return (
            f"{self.label} [{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total}"
            f"  failed {self.failed}  {elapsed:.1f}s"
        )

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def add_primitive_commands(sub: Any) -> None:
    """Register ``fanout`` and ``agents`` on the main parser's subcommands."""
    p = sub.add_parser(
        "fanout",
        help="sample N candidates from a model in parallel and synthesize one answer",
        description="Fan-out synthesis against the configured model endpoint (OPENAI_* / OPENROUTER_*).",
        formatter_class=HelpFormatter,
    )
    p.set_defaults(handler=cmd_fanout)
    p.add_argument("-p", "--prompt", help="the prompt ('-' reads standard input)")
    p.add_argument("-n", "--n-runs", dest="n", type=int, default=5, metavar="N", help="number of candidates")
    p.add_argument("--system", metavar="S", help="system prompt")
    p.add_argument("--stop", action="append", default=[], metavar="T", help="stop sequence (repeatable)")
    p.add_argument("--model", metavar="M", help="model name")
    p.add_argument("--base-url", metavar="URL", help="OpenAI-compatible endpoint")
    _call_tokens_flag(p, lazy_help(_fanout_tokens_help))
    p.add_argument("--timeout", type=float, default=60.0, metavar="SEC", help="per-call timeout")
    p.add_argument("--retries", type=int, default=3, metavar="R", help="retries per call for 429/5xx/timeouts")
    p.add_argument("--max-in-flight", dest="concurrency", type=int, default=16, metavar="N", help="calls in flight")
    p.add_argument("--concurrency", dest="concurrency", type=int, help=argparse.SUPPRESS)  # old name
    p.add_argument("--candidate-temperature", type=float, default=0.9, metavar="T", help="sampling temperature")
    p.add_argument(
        "--synthesis-temperature", type=float, default=0.2, metavar="T", help="temperature of the synthesis call"
    )
    p.add_argument("--vote", action="store_true", help="self-consistency: majority vote instead of synthesis")
    p.add_argument(
        "--resynthesize",
        metavar="FILE",
        help="redo only the synthesis from the candidates of an earlier --json output",
    )
    p.add_argument(
        "--from-node",
        nargs=2,
        metavar=("SWARM_ID", "NODE_ID"),
        help="redo only the synthesis from the candidates a swarm's fanout_synthesis node stored",
    )
    p.add_argument("--json", action="store_true", help='print {"final", "candidates", "meta"}')
    p.add_argument("--print-candidates", action="store_true", help="print every candidate before the answer")
    p.add_argument("--timings", action="store_true", help="timings and usage on stderr")

    agents = sub.add_parser("agents", help="drive the LLM endpoints of a hostfile", formatter_class=HelpFormatter)
    agents.set_defaults(handler=cmd_agents)
    patterns = agents.add_subparsers(dest="pattern", metavar="PATTERN", parser_class=type(agents))
    for name, help_text in (
        ("broadcast", "send one prompt to every agent"),
        ("scatter", "deal a file of prompts (one per line) round-robin over the agents"),
        ("tree-reduce", "every agent answers, then answers are summarized group by group into one"),
    ):
        q = patterns.add_parser(name, help=help_text, formatter_class=HelpFormatter)
        q.add_argument("--hostfile", required=True, metavar="FILE", help="one agent per line: host[:port] [key=value…]")
        prompt_help = "file of prompts, one per line" if name == "scatter" else "the prompt"
        q.add_argument("-p", "--prompt", required=True, help=prompt_help)
        q.add_argument("--system", metavar="S", help="system prompt")
        q.add_argument("--model", default="default", metavar="M", help="model name sent to every agent")
        _call_tokens_flag(q)
        q.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
        q.add_argument("--where", action="append", default=[], metavar="KEY=VALUE", help="only agents with this tag")
        q.add_argument("--sample", type=int, metavar="K", help="only K agents, chosen at random")
        q.add_argument("--seed", type=int, metavar="S", help="seed for --sample")
        q.add_argument("--timeout", type=float, default=60.0, metavar="SEC", help="per-request timeout")
        q.add_argument("--deadline", type=float, metavar="SEC", help="for the whole pattern")
        q.add_argument("--retries", type=int, default=2, metavar="R", help="retries per request for 429/5xx/timeouts")
        q.add_argument("--max-in-flight", type=int, default=256, metavar="N", help="requests in flight in all")
        q.add_argument("--per-agent", type=int, default=16, metavar="N", help="requests in flight per agent")
        q.add_argument("--json", action="store_true", help="print replies (in order) and the summary as JSON")
        q.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
        if name == "broadcast":
            q.add_argument("--reduce", action="store_true", help="combine the replies with one more call")
        if name == "tree-reduce":
            q.add_argument("--fan-in", type=int, default=4, metavar="N", help="answers per summary (at least 2)")


def _call_tokens_flag(p: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """``--max-call-tokens`` (default None: the command's own default, see its help)."""
    p.add_argument(
        "--max-call-tokens",
        dest="max_tokens",
        type=int,
        metavar="K",
        help=lazy_help(lambda: f"most tokens per completion (default: {_default_call_tokens()})")
        if help_text is None
        else help_text,
    )
    p.add_argument("--max-tokens", dest="max_tokens", type=int, help=argparse.SUPPRESS)  # old name


def _fanout_tokens_help() -> str:
    """The fan-out's cap follows StochasticSwarm's (``primitives.stochastic``), read when help is shown."""
    from swarm_star.primitives.stochastic import SEED_MAX_TOKENS

    return (
        "most tokens per completion; default $OPENROUTER_MAX_TOKENS, else "
        f"{SEED_MAX_TOKENS} on OpenRouter, else {_default_call_tokens()}"
    )


def _default_call_tokens() -> int:
    """The primitives' completion cap, read when used (the pool module is not loaded for --help)."""
    from swarm_star.primitives.pool import DEFAULT_AGENT_MAX_TOKENS

    return DEFAULT_AGENT_MAX_TOKENS


def _read_prompt(value: str | None) -> str:
    text = sys.stdin.read() if value == "-" else value
    if not text or not text.strip():
        raise InputError("the prompt is empty (give -p TEXT, or -p - to read standard input)")
    return text


def cmd_fanout(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:

    from swarm_star.api import load_env_file
    from swarm_star.models import ModelSettings
    from swarm_star.primitives.fanout import FanoutOptions
    from swarm_star.primitives.stochastic import run_fanout

    if args.timeout <= 0 or args.retries < 0:
        raise InputError("--timeout must be positive and --retries at least 0")
    previous = _load_candidates(args.resynthesize) if args.resynthesize else None
    if args.from_node:
        previous = _node_candidates(args, *args.from_node)
    if previous is not None and args.prompt is None:
        prompt = previous[0]
    else:
        prompt = _read_prompt(args.prompt)
    load_env_file()
    settings = ModelSettings(
        base_url=args.base_url,
        timeout=args.timeout,
        max_retries=args.retries,
        concurrency=args.concurrency,
        **({"default_model": args.model} if args.model else {}),
    )
    note_stripped_url(args.base_url, settings, err)
    given = settings
    if not args.model:  # a local server's own model name, when none was given (said once)
        settings = use_served_model(settings, None, err)
    options = FanoutOptions(
        n=args.n,
        system=args.system,
        stop=tuple(args.stop),
        model=args.model or (settings.default_model if settings is not given else None),
        max_tokens=args.max_tokens,  # None: run_fanout applies the seed's rule (see _fanout_tokens_help)
        candidate_temperature=args.candidate_temperature,
        synthesis_temperature=args.synthesis_temperature,
        concurrency=args.concurrency,
        mode="vote" if args.vote else "synthesis",
    )
    result = run_fanout(settings, prompt, options, previous=previous[1] if previous is not None else None)
    result.meta["prompt"] = prompt
    if args.json:
        out.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        if args.print_candidates:
            for c in result.candidates:
                head = f"--- candidate {c.index + 1}" + ("" if c.ok else f" FAILED: {c.error}")
                out.write(f"{head} ---\n{c.text.strip()}\n" if c.ok else f"{head} ---\n")
            out.write("--- final ---\n")
        if result.final is not None:
            out.write(result.final.strip() + "\n")
        vote = result.meta.get("vote")
        if vote and result.final is not None:  # how sure the vote is belongs next to its answer
            out.write(f"(vote: {vote['votes']} of {vote['total']} agree, confidence {vote['confidence']:.0%})\n")
    if args.timings:
        meta = result.meta
        err.write(
            f"candidates {meta['succeeded']}/{meta['candidates']} ok; "
            f"total {meta['timings'].get('total_s', 0):.2f}s; usage {json.dumps(meta['usage'])}"
            + (f"; synthesis FELL BACK to {meta['synthesis']['fallback']}" if meta.get("fallback") else "")
            + "\n"
        )
    if result.final is None:
        raise ModelError(result.meta.get("error", "no answer"))
    return 0


def _load_candidates(path: str) -> tuple[str, list[Candidate]]:
    from swarm_star.primitives.fanout import Candidate

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        candidates = [Candidate.from_json(c) for c in data["candidates"]]
        prompt = str(data.get("meta", {}).get("prompt", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read candidates from {path}: not a fanout --json output") from exc
    return prompt, candidates


def _node_candidates(args: argparse.Namespace, swarm_id: str, node_id: str) -> tuple[str, list[Candidate]]:
    """The directive and recorded candidate calls of one node of a stored swarm."""
    from swarm_star.api import Swarm
    from swarm_star.primitives.fanout import Candidate

    with Swarm.open(swarm_id, space=args.space, backend=args.store, user_id=args.user) as swarm:
        state = swarm.tree()
    node = state.nodes.get(node_id)
    if node is None:
        raise InputError(f"swarm {swarm_id} has no node {node_id!r}")
    calls = [state.calls[(node_id, key)] for key in node.calls]
    candidates = [
        Candidate(
            i,
            bool(c.response.strip()),
            c.response,
            None if c.response.strip() else "empty reply",
            c.latency_s,
            c.attempts,
            c.usage.prompt_tokens,
            c.usage.completion_tokens,
        )
        for i, c in enumerate(call for call in calls if call.purpose == "candidate")
    ]
    if not candidates:
        raise InputError(f"node {node_id} of swarm {swarm_id} recorded no fan-out candidates")
    return node.directive, candidates


def _pool(args: argparse.Namespace) -> AgentPool:
    from swarm_star.primitives.pool import AGENT_KEY_VARIABLE, AgentPool, PoolSettings

    settings = PoolSettings(
        model=args.model,
        max_in_flight=args.max_in_flight,
        per_agent=args.per_agent,
        timeout=args.timeout,
        retries=args.retries,
        max_tokens=_default_call_tokens() if args.max_tokens is None else args.max_tokens,
        temperature=args.temperature,
        api_key=os.environ.get(AGENT_KEY_VARIABLE),
    )
    pool = AgentPool.from_hostfile(args.hostfile, settings)
    tags: dict[str, str] = {}
    for item in args.where:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--where expects KEY=VALUE, got {item!r}")
        tags[key] = value
    if tags:
        pool = pool.where(**tags)
    if args.sample is not None:
        pool = pool.sample(args.sample, args.seed)
    return pool


def cmd_agents(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star import eventloop
    from swarm_star.primitives.aggregators import failure_report
    from swarm_star.primitives.patterns import broadcast, scatter_gather, tree_reduce

    if args.pattern is None:
        raise InputError("say which pattern: swarm-star agents broadcast|scatter|tree-reduce")
    pool = _pool(args)
    if args.pattern == "scatter":
        try:
            lines = Path(args.prompt).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read prompts file {args.prompt}") from exc
        prompts = [line for line in lines if line.strip()]
        if not prompts:
            raise InputError(f"{args.prompt}: no prompts (one per line)")
        total = len(prompts)
    else:
        prompts = []
        total = len(pool)
    progress = Progress(args.pattern, total, err, err.isatty() and not args.no_progress)

    async def go() -> dict[str, Any]:
        async with pool:
            if args.pattern == "broadcast":
                b = await broadcast(
                    pool,
                    args.prompt,
                    system=args.system,
                    reduce=args.reduce,
                    deadline=args.deadline,
                    on_reply=progress,
                )
                return {"replies": b.replies, "final": b.reduced}
            if args.pattern == "scatter":
                replies = await scatter_gather(
                    pool, prompts, system=args.system, deadline=args.deadline, on_reply=progress
                )
                return {"replies": replies}
            t = await tree_reduce(
                pool, args.prompt, fan_in=args.fan_in, system=args.system, deadline=args.deadline, on_reply=progress
            )
            return {"replies": t.leaves, "final_text": t.final, "tree": t.to_json()}

    try:
        outcome = eventloop.run(go())
    finally:
        progress.close()
    replies: list[AgentReply] = outcome["replies"]
    report = failure_report(replies)
    final = outcome.get("final")
    final_text = outcome.get("final_text") if "final_text" in outcome else (final.text if final and final.ok else None)
    if args.json:
        doc: dict[str, Any] = {
            "pattern": args.pattern,
            "replies": [r.to_json() for r in replies],
            "summary": {"total": report.total, "failed": report.failed, "by_error": report.by_error},
        }
        if args.pattern != "scatter":
            doc["final"] = final_text
        if final is not None:
            doc["reduce"] = final.to_json()
        if "tree" in outcome:
            tree = outcome["tree"]
            doc.update(levels=tree["levels"], failed_groups=tree["failed_groups"], error=tree["error"])
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        for r in replies:
            body = " ".join(r.text.split()) if r.ok else f"FAILED: {r.error}"
            out.write(f"[{r.index}] {r.agent}: {body}\n")
        if final_text is not None:
            out.write(f"--- final ---\n{final_text.strip()}\n")
    err.write(report.summary() + "\n")
    if report.failed == report.total:
        return 1
    if args.pattern != "scatter" and (args.pattern == "tree-reduce" or args.reduce) and final_text is None:
        return 1
    return 0
