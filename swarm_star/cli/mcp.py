"""``swarm-star mcp``: serve Swarm Star to MCP clients over stdio (or streamable HTTP on loopback)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from swarm_star.cli.flags import HelpFormatter, check_space
from swarm_star.errors import ConfigError, InputError

__all__ = ["add_mcp_command", "cmd_mcp"]


def add_mcp_command(sub: Any) -> None:
    p = sub.add_parser(
        "mcp",
        formatter_class=HelpFormatter,
        help="serve Swarm Star to MCP clients (Claude Desktop, Cursor, other agents)",
        description="An MCP server with the tools run_swarm, swarm_status, answer_question, get_tree, get_report, "
        "list_swarms, stop_swarm and resume_swarm, over stdio (default) or streamable HTTP on loopback (--http). "
        "Swarms it creates use --model/--base-url and --mcp; a client never names an endpoint, key or file.",
    )
    p.set_defaults(handler=cmd_mcp)
    p.add_argument("--http", action="store_true", help="streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio")
    p.add_argument("--port", type=int, default=8766, help="port for --http")
    p.add_argument("--model", metavar="M", help="model of the swarms created here")
    p.add_argument("--base-url", metavar="URL", help="OpenAI-compatible endpoint of the swarms created here")
    p.add_argument("--mcp", metavar="FILE", help="MCP servers file the swarms created here may use as tools")


def cmd_mcp(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star import eventloop

    check_space(args)
    try:
        from swarm_star.mcpserve import SwarmRuns, build_server
    except ImportError as exc:
        raise ConfigError(f"swarm-star mcp needs the mcp extra: pip install 'swarm-star[mcp]' ({exc.name})") from exc
    from swarm_star.api import resolve_space
    from swarm_star.api.tools import load_mcp
    from swarm_star.llm import resolve_endpoint
    from swarm_star.models import ModelSettings

    if not 1 <= args.port <= 65535:
        raise InputError(f"--port must be 1-65535, got {args.port}")
    models = ModelSettings(base_url=args.base_url, **({"default_model": args.model} if args.model else {}))
    resolve_endpoint(models)  # fail now, not in the first run
    mcp = str(Path(args.mcp).resolve()) if args.mcp else None
    load_mcp(mcp)
    runs = SwarmRuns(resolve_space(args.space), args.store, args.user, models=models, mcp=mcp)
    server = build_server(runs)

    async def serve() -> None:
        try:
            if args.http:
                err.write(f"Swarm Star MCP server at http://127.0.0.1:{args.port}/mcp (Ctrl-C stops)\n")
                err.flush()
                await server.run_streamable_http_async(host="127.0.0.1", port=args.port)
            else:
                await server.run_stdio_async()
        finally:
            await runs.close()

    try:
        eventloop.run(serve())
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()
    return 0
