"""A swarm's report as a document: Markdown always, HTML, and PDF.

What it holds, in this order: the final report; the parts in tree order (each
node's directive and report, failures with their errors); what was written
into the workspace (paths and commits, from the workspace's git log); the
questions and their answers; usage and cost by role and by subtree.

It is built from the committed node records (the projection as last written),
so a report of a swarm that another process is running is consistent with its
last commit. Markdown is the source: HTML is Markdown rendered by
``markdown-it-py`` with raw HTML disabled (text from models is never markup),
and PDF is that HTML laid out by ``fpdf2`` (pure Python, no browser needed).

A report never loads anything: fpdf2 opens an ``<img>``'s ``src`` as a local
path or fetches it as a URL, and a browser fetches it too, so an image in
model text (``![x](/etc/hostname)``) is rendered as a link labelled
``[image: x]`` instead; raw HTML (``<img>``, ``<link>``, ``<iframe>``, CSS)
is escaped text. The HTML page also carries a Content-Security-Policy that
lets it load nothing but its own inline style, wherever it is opened.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarm_star.models import ROOT_NODE_ID, NodeRole, NodeStatus, SwarmNode, SwarmStatus, Usage
from swarm_star.models.stats import StatsBook
from swarm_star.render.text import usage_by_model
from swarm_star.state.reader import SwarmReader

if TYPE_CHECKING:  # markdown-it is imported when a report is rendered, not when this module loads
    from collections.abc import Sequence

    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Report",
    "WorkspaceCommit",
    "build_report",
    "markdown_to_html",
    "render_report",
    "workspace_commits",
]

FORMATS = ("md", "html", "pdf")
MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1d2330}
h1{border-bottom:2px solid #e4e7ee;padding-bottom:.3rem}h2{margin-top:2rem;border-bottom:1px solid #e4e7ee}
code,pre{background:#f4f6fa;border-radius:4px}pre{padding:.6rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #d5d9e2;padding:.25rem .6rem;text-align:left}
th{background:#f4f6fa}blockquote{border-left:3px solid #c9cfdb;margin:0;padding-left:1rem;color:#3b4256}
"""
_FENCE = re.compile(r"(?:`{3,}|~{3,})[\w+.-]*")
_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
"""The HTML report loads nothing (no image, font, script, frame), wherever it is opened."""


@dataclass(frozen=True)
class WorkspaceCommit:
    """One commit of the swarm's workspace repository."""

    sha: str
    time: float
    message: str
    paths: tuple[str, ...]


@dataclass
class Report:
    """Everything the report shows, plus its Markdown text."""

    swarm_id: str
    directive: str
    status: str
    stop_reason: str | None
    frames: int
    usage: Usage
    nodes: dict[str, SwarmNode]
    workspace: Path | None
    commits: list[WorkspaceCommit] = field(default_factory=list)
    by_model: list[tuple[str, str, Usage]] = field(default_factory=list)
    markdown: str = ""

    @property
    def final(self) -> str | None:
        root = self.nodes.get(ROOT_NODE_ID)
        return root.report if root is not None else None


def workspace_commits(workspace: Path | None) -> list[WorkspaceCommit]:
    """The workspace's git log, oldest first (empty when there is no repository)."""
    if workspace is None or not (workspace / ".git").exists():
        return []
    import git

    from swarm_star.errors import WorkspaceError
    from swarm_star.sandbox.safe_git import safe_repo

    try:
        repo = safe_repo(workspace)  # no hook or configured program runs (sandbox/safe_git.py)
        if not repo.head.is_valid():
            return []
        commits = [
            WorkspaceCommit(
                sha=c.hexsha,
                time=float(c.committed_date),
                message=_summary(str(c.message)),
                paths=tuple(sorted(str(p) for p in c.stats.files)),
            )
            for c in repo.iter_commits()
        ]
    except (git.GitError, ValueError, WorkspaceError):  # unreadable, or a config that could run a program
        return []
    return list(reversed(commits))


def _summary(message: str) -> str:
    """A commit's subject line: the body and the engine's own trailers (``Swarm-Change:``,
    which finds a change again after a crash) are bookkeeping, not for the reader."""
    lines = message.strip().splitlines()
    return lines[0].strip() if lines else ""


def tree_order(nodes: dict[str, SwarmNode]) -> list[SwarmNode]:
    """Depth-first, children in the order they were spawned."""
    root = nodes.get(ROOT_NODE_ID) or next((n for n in nodes.values() if n.parent_id is None), None)
    if root is None:
        return []
    out: list[SwarmNode] = []
    stack = [root.id]
    while stack:
        node = nodes.get(stack.pop())
        if node is None:
            continue
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def subtree_usage(nodes: dict[str, SwarmNode], node_id: str) -> tuple[Usage, int]:
    """Usage of a node and all its descendants, and how many nodes that is."""
    total, count, stack = Usage(), 0, [node_id]
    while stack:
        node = nodes.get(stack.pop())
        if node is None:
            continue
        total, count = total.plus(node.usage), count + 1
        stack.extend(node.children)
    return total, count


def _line(text: str | None, width: int = 90) -> str:
    """``text`` on one line; code fences dropped (flattened, a fence would turn into inline code)."""
    flat = " ".join(_FENCE.sub(" ", text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines())


def _cell(text: str) -> str:
    return _line(text, 60).replace("|", "\\|")


def _money(value: float) -> str:
    return f"${value:.4f}"


def build_report(swarm_id: str, log: SwarmReader, workspace: Path | None = None) -> Report:
    """Collect the report of one swarm from its store (and its workspace repository)."""
    record, meta = log.record(), log.read_meta() or {}
    nodes = log.nodes()
    usage = Usage.model_validate(meta.get("usage") or {})
    report = Report(
        swarm_id=swarm_id,
        directive=record.directive,
        status=str(meta.get("status", SwarmStatus.CREATED)),
        stop_reason=meta.get("stop_reason"),
        frames=int(meta.get("frame_count", 0)),
        usage=usage,
        nodes=nodes,
        workspace=workspace if workspace is not None and workspace.exists() else None,
        commits=workspace_commits(workspace),
    )
    try:
        book = StatsBook.model_validate(meta.get("endpoints") or {})
    except ValueError:  # a damaged figure record costs its table, not the report
        book = StatsBook()
    report.by_model = usage_by_model(book.usage, set(record.settings.models.providers))
    report.markdown = _markdown(report, record.created_at)
    return report


def _markdown(r: Report, created_at: float) -> str:
    out: list[str] = [f"# Swarm {r.swarm_id}", ""]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(created_at))
    out += [
        f"**Directive:** {_line(r.directive, 500)}",
        "",
        f"**Status:** {r.status}" + (f" ({r.stop_reason})" if r.stop_reason else "") + f" · created {when} · "
        f"{len(r.nodes)} nodes · {r.frames} frames · {r.usage.calls} model calls · {r.usage.tokens} tokens · "
        f"{_money(r.usage.cost)}",
        "",
        "## Final report",
        "",
    ]
    if r.final:
        out += [r.final.strip(), ""]
    else:
        root = r.nodes.get(ROOT_NODE_ID)
        why = (root.error if root is not None and root.error else None) or r.stop_reason or r.status
        out += [f"*No final report yet: {why}.*", ""]

    out += ["## Parts in tree order", ""]
    for node in tree_order(r.nodes):
        if node.id == ROOT_NODE_ID:
            continue
        indent = "  " * max(node.depth - 1, 0)
        mark = "FAILED" if node.status == NodeStatus.FAILED else node.status.word
        out.append(
            f"{indent}- **{node.id}** {node.role.value} · `{node.action_id}` · {mark} · "
            f"{node.usage.calls} calls · {_money(node.usage.cost)} — {_line(node.directive, 160)}"
        )
        # on a line of its own in the same item (a hard break): a nested list item here made
        # fpdf2 draw the next item over it
        if node.error:
            out[-1] += "\\"
            out.append(f"{indent}  **Error:** {_line(node.error, 300)}")
        elif node.report and node.role != NodeRole.ROUTER:
            out[-1] += "\\"
            out.append(f"{indent}  Report: {_line(node.report, 300)}")
    failed = [n for n in r.nodes.values() if n.error]
    if failed:
        out += ["", "### Failures", ""]
        for node in failed:
            out.append(f"- **{node.id}** `{node.action_id}` — {_line(node.directive, 120)}: {_line(node.error, 400)}")
    out.append("")

    out += ["## Workspace", ""]
    if r.workspace is None:
        out += ["*Nothing was written into the workspace.*", ""]
    else:
        out += [f"Repository: `{r.workspace}`", ""]
        if not r.commits:
            out += ["*No commits.*", ""]
        for c in r.commits:
            stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(c.time))
            paths = ", ".join(f"`{p}`" for p in c.paths) or "(no files)"
            out.append(f"- `{c.sha[:10]}` {stamp} — {_line(c.message, 120)}: {paths}")
        out.append("")

    out += ["## Questions and answers", ""]
    asked = [(n, q) for n in tree_order(r.nodes) for q in n.questions]
    if not asked:
        out += ["*The swarm asked no questions.*", ""]
    for node, q in asked:
        out.append(f"- **Q** ({node.id}, `{q.id}`): {_line(q.text, 400)}")
        out.append(f"  - **A:** {_line(q.answer, 400)}" if q.answer is not None else "  - *not answered yet*")
    out.append("")

    out += [
        "## Usage and cost",
        "",
        "### By role",
        "",
        "| role | nodes | calls | tokens | cost |",
        "|---|---|---|---|---|",
    ]
    by_role: dict[str, tuple[int, Usage]] = {}
    for node in r.nodes.values():
        count, used = by_role.get(node.role.value, (0, Usage()))
        by_role[node.role.value] = (count + 1, used.plus(node.usage))
    for role, (count, used) in sorted(by_role.items()):
        out.append(f"| {role} | {count} | {used.calls} | {used.tokens} | {_money(used.cost)} |")
    if r.by_model:
        out += [
            "",
            "### By provider and model",
            "",
            "| provider | model | calls | prompt tokens (cached) | completion tokens | cost |",
            "|---|---|---|---|---|---|",
        ]
        for provider, model, used in r.by_model:
            cost = _money(used.cost) + (f" + {used.unpriced_calls} unpriced" if used.unpriced_calls else "")
            out.append(
                f"| {_cell(provider)} | {_cell(model)} | {used.calls} | {used.prompt_tokens} ({used.cached_tokens}) | "
                f"{used.completion_tokens} | {cost} |"
            )
    out += [
        "",
        "### By subtree",
        "",
        "| subtree | directive | nodes | calls | tokens | cost |",
        "|---|---|---|---|---|---|",
    ]
    tops = [n.id for n in tree_order(r.nodes) if n.depth <= 2 and (n.children or n.depth == 0)]
    for top in tops:
        used, count = subtree_usage(r.nodes, top)
        label = "whole swarm" if top == ROOT_NODE_ID else "  " * (r.nodes[top].depth - 1) + top
        directive = _cell(r.nodes[top].directive)
        out.append(f"| {label} | {directive} | {count} | {used.calls} | {used.tokens} | {_money(used.cost)} |")
    out.append("")
    return "\n".join(out)


def _image_as_link(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An image becomes a visible link to where it points, never an ``<img>`` that a renderer would load."""
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env).strip() or "no description"
    href = html.escape(str(token.attrGet("src") or ""), quote=True)
    return f'<a href="{href}">{html.escape(f"[image: {alt}]")}</a>'


def markdown_to_html(text: str) -> str:
    """The one Markdown-to-HTML step of every report format: raw HTML is escaped, images are links."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.add_render_rule("image", _image_as_link)
    return md.render(text)


def to_html(report: Report) -> str:
    """The Markdown rendered to a standalone HTML page (model text is escaped, not trusted)."""
    body = markdown_to_html(report.markdown)
    title = html.escape(f"Swarm {report.swarm_id} — report")
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head>'
        f"<body>\n{body}</body></html>\n"
    )


def _font_file(name: str) -> Path | None:
    for folder in _FONT_DIRS:
        path = Path(folder) / name
        if path.exists():
            return path
    return None


def to_pdf(report: Report) -> bytes:
    """The HTML laid out by fpdf2. A Unicode font is used when the system has DejaVu;
    otherwise the core font, with characters it lacks replaced."""
    from fpdf import FPDF

    body = markdown_to_html(report.markdown)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Swarm {report.swarm_id} report")
    pdf.set_creator("Swarm Star")
    regular, bold = _font_file("DejaVuSans.ttf"), _font_file("DejaVuSans-Bold.ttf")
    mono = _font_file("DejaVuSansMono.ttf")
    family = "helvetica"
    if regular is not None:
        pdf.add_font("dejavu", "", str(regular))
        pdf.add_font("dejavu", "B", str(bold or regular))
        pdf.add_font("dejavu", "I", str(regular))
        pdf.add_font("dejavu", "BI", str(bold or regular))
        if mono is not None:
            pdf.add_font("dejavumono", "", str(mono))
        family = "dejavu"
    else:
        body = body.encode("latin-1", "replace").decode("latin-1")
    pdf.set_font(family, size=10)
    pdf.add_page()
    # fpdf2 justifies table cells unless told: a left-aligned cell reads as the HTML one does
    body = body.replace("<td>", '<td align="left">').replace("<th>", '<th align="left">')
    kwargs: dict[str, Any] = {"font_family": family}
    if mono is not None and family == "dejavu":
        from fpdf.fonts import TextStyle

        kwargs["tag_styles"] = {
            "code": TextStyle(font_family="dejavumono"),
            "pre": TextStyle(font_family="dejavumono"),
        }
    pdf.write_html(body, **kwargs)
    return bytes(pdf.output())


def render_report(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (md, html or pdf) as bytes."""
    if fmt == "md":
        return report.markdown.encode("utf-8")
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(report)
    raise ValueError(f"unknown report format {fmt!r}")
