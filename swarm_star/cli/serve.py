"""CLI commands to see and steer swarms: ``serve``, ``report`` and ``watch``.

Registered by :mod:`swarm_star.cli.parser` with :func:`add_serve_commands`. The web
stack (Starlette, uvicorn) and the PDF library are imported only inside the
commands that need them, so ``swarm-star --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from swarm_star.cli.flags import open_swarm
from swarm_star.cli.hints import command_prefix
from swarm_star.errors import ConfigError, InputError

__all__ = ["add_serve_commands", "cmd_report", "cmd_serve", "cmd_watch"]

DEFAULT_PORT = 8765


def add_serve_commands(sub: Any) -> None:
    """Add ``serve``, ``report`` and ``watch`` to the CLI's subparsers."""
    p = sub.add_parser(
        "serve",
        help="HTTP API, live events and the web view over the swarm space",
        description=(
            "Serve the swarm space over HTTP: REST, Server-Sent Events of every frame, and the web view at /. "
            "Binds to loopback; any other address needs a token (--token or $SWARM_STAR_TOKEN). "
            "Swarms the server runs use only the model endpoints listed here: each --base-url (the first is "
            "the default; --api-key-env NAME sends $NAME to them) and the endpoint the environment configures "
            "(OPENAI_API_KEY / OPENAI_BASE_URL / OPENROUTER_API_KEY, each key to its own provider). A request "
            "may pick one of them by its URL; it can never name another URL or an environment variable "
            "(400), and a swarm recorded with an unlisted endpoint is resumed from the CLI, not over HTTP."
        ),
    )
    p.set_defaults(handler=cmd_serve)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--token", help="require this token on every request (default $SWARM_STAR_TOKEN)")
    p.add_argument(
        "--base-url",
        action="append",
        default=[],
        metavar="URL",
        help="a model endpoint requests may choose (repeatable; the first is the default)",
    )
    p.add_argument("--model", metavar="NAME", help="the model of swarms whose request names none")
    p.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="send the key in $NAME to the --base-url endpoints (keys otherwise go only to their own provider)",
    )
    p.add_argument(
        "--mcp",
        metavar="FILE",
        help="MCP servers file (mcpServers JSON) the swarms run here may use; requests cannot name one",
    )
    p.add_argument(
        "--otel",
        action="store_true",
        help="trace the swarms this server runs with OpenTelemetry (otel extra; the global tracer provider)",
    )

    p = sub.add_parser(
        "report",
        help="export a swarm's report (Markdown, HTML or PDF)",
        description="The final report first, then the parts in tree order, workspace commits, questions, and usage.",
    )
    p.set_defaults(handler=cmd_report)
    p.add_argument("swarm_id", help="the swarm to report on")
    p.add_argument("--format", choices=["md", "html", "pdf"], help="default: from -o's suffix, else md")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout; PDF: SWARM-report.pdf)")

    p = sub.add_parser(
        "watch",
        help="follow a swarm being run elsewhere (live tree on a terminal)",
        description="Follow a swarm's frames as they are committed, from any process. Ctrl-C stops watching only.",
    )
    p.set_defaults(handler=cmd_watch)
    p.add_argument("swarm_id", help="the swarm to follow")
    p.add_argument("--from", dest="start", type=int, default=None, metavar="N", help="replay from frame N")
    p.add_argument("--once", action="store_true", help="print what is there and exit (no following)")


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import asyncio

    from swarm_star import eventloop
    from swarm_star.api import load_env_file

    try:  # the web stack is a core dependency; an install that lacks it gets one line, not a traceback
        import uvicorn

        from swarm_star.serve import create_app
        from swarm_star.serve.security import TOKEN_ENV, check_bind
    except ImportError as exc:
        raise ConfigError(
            f"serve needs {exc.name or 'the web stack'}, which this install lacks: pip install 'swarm-star[serve]'"
        ) from exc
    load_env_file()  # ./.env, never overriding the environment: the operator's keys
    token = args.token or os.environ.get(TOKEN_ENV) or None
    check_bind(args.host, token)
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0-65535, got {args.port}")
    if args.otel:
        try:
            import opentelemetry.trace  # noqa: F401
        except ImportError as exc:
            raise ConfigError("--otel needs the otel extra: pip install 'swarm-star[otel]'") from exc
    mcp = None
    if args.mcp:
        from swarm_star.api.tools import load_mcp

        mcp = str(Path(args.mcp).resolve())
        load_mcp(mcp)  # a broken file is said now, before the server starts
    app = create_app(
        mcp=mcp,
        space=args.space,
        backend=args.store,
        user_id=args.user,
        token=token,
        otel=args.otel,
        base_urls=args.base_url,
        api_key_env=args.api_key_env,
        default_model=args.model,
    )
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))

    async def announce_and_serve() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            host = f"[{args.host}]" if ":" in args.host else args.host
            out.write(f"Swarm Star serving {app.state.hub.space} at http://{host}:{port}/\n")
            out.write("  web view: /   API: /api/swarms   OpenAPI: /api/openapi.json   Ctrl-C stops\n")
            from swarm_star.serve.endpoints import shown

            offered = [shown(url) for url in app.state.hub.endpoints.offered]
            out.write(f"  model endpoints: {', '.join(offered) if offered else 'none (see serve --help)'}\n")
            out.flush()
        await task

    try:
        eventloop.run(announce_and_serve())
    except KeyboardInterrupt:
        pass
    stopped = app.state.hub.stopped_at_shutdown
    if stopped:  # Ctrl-C stopped swarms mid-run: say which, and how to go on
        prefix = command_prefix(args)
        out.write(f"\nstopped {len(stopped)} running swarm(s), state saved: {', '.join(stopped)}\n")
        out.write("continue each with: " + "; ".join(f"{prefix} resume {s}" for s in stopped))
        out.write("  (or serve again and press Resume in the web view)\n")
        out.flush()
    return 0 if server.started else 1


def cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star.render.report import build_report, render_report

    fmt = args.format
    if fmt is None and args.output:
        fmt = {".html": "html", ".htm": "html", ".pdf": "pdf"}.get(Path(args.output).suffix.lower(), "md")
    fmt = fmt or "md"
    with open_swarm(args) as swarm:
        report = build_report(swarm.id, swarm.log, swarm.workspace)
    try:
        body = render_report(report, fmt)
    except ImportError as exc:
        raise ConfigError(f"PDF export needs the serve extra: pip install 'swarm-star[serve]' ({exc.name})") from exc
    target = args.output or (f"{args.swarm_id}-report.pdf" if fmt == "pdf" else None)
    if target is None:
        out.write(body.decode("utf-8"))
        return 0
    path = Path(target)
    try:
        path.write_bytes(body)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    out.write(f"report written to {path} ({fmt}, {len(body)} bytes)\n")
    return 0


def cmd_watch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from swarm_star import eventloop
    from swarm_star.render.live import follow

    with open_swarm(args) as swarm:
        start = args.start if args.start is not None else 0
        if start < 0:
            raise InputError(f"--from must be a frame number, got {start}")
        tty = out.isatty() if hasattr(out, "isatty") else False
        try:
            return eventloop.run(follow(swarm, out, start=start, once=args.once, live=tty and sys.stdout is out))
        except KeyboardInterrupt:
            out.write("\nstopped watching (the swarm goes on)\n")
            return 130
