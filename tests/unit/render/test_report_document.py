"""The report as a document: parts with code fences, nested parts, clean commit lines, a PDF that reads.

The tree is written frame by frame into a real store (``TreeWriter``), the
root's report is composed by the kit's ``compose_final_report`` (what the root
action does), the workspace is a real git repository written through the
kit's ``Workspace`` (with its ``Swarm-Change:`` trailers), and the PDF is
rendered to PNG pages with pypdfium2 (kept in ``tests/artifacts/``) and its
text read back in order.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2

from swarm_star.kit import Workspace, compose_final_report
from swarm_star.models import NodeRole, Terminate
from swarm_star.render.report import build_report, render_report, to_html
from tests.helpers.big_tree import TreeWriter
from tests.helpers.paths import ARTIFACTS

CODE_FIRST = "```python\ndef parse(line):\n    return line.split(',')\n```\nSplits one CSV line."
CODE_MIDDLE = "Run it like this:\n\n```sh\npython parse.py data.csv\n```\n\nThen read the output."


def _swarm(space: Path) -> tuple[TreeWriter, Path]:
    w = TreeWriter(space, "doc", directive="write a CSV parser and explain it")
    w.node("0", None, NodeRole.ROOT, "write a CSV parser and explain it")
    w.node("0.0", "0", NodeRole.MANAGER, "write a CSV parser and explain it")
    parts = [
        ("0.0.0", "write the parser", CODE_FIRST),
        ("0.0.1", "explain how to run it", CODE_MIDDLE),
        ("0.0.2", "plan the documentation", None),
    ]
    for router, directive, report in parts:
        w.node(router, "0.0", NodeRole.ROUTER, directive)
        w.node(f"{router}.0", router, NodeRole.ACTION, directive)
        if report is not None:
            w.emit(Terminate(node_id=f"{router}.0", report=report), [f"{router}.0"])
            w.emit(Terminate(node_id=router, report=report), [router])
    # the third part delegated: a nested manager with two parts of its own
    w.node("0.0.2.0.0", "0.0.2.0", NodeRole.MANAGER, "plan the documentation")
    for k, text in enumerate(["write the README section", "write the usage example"]):
        router = f"0.0.2.0.0.{k}"
        w.node(router, "0.0.2.0.0", NodeRole.ROUTER, text)
        w.node(f"{router}.0", router, NodeRole.ACTION, text)
        w.emit(Terminate(node_id=f"{router}.0", report=f"Nested report {k}: done."), [f"{router}.0"])
        w.emit(Terminate(node_id=router, report=f"Nested report {k}: done."), [router])
    for node_id in ("0.0.2.0.0", "0.0.2.0", "0.0.2"):
        w.emit(Terminate(node_id=node_id, report="Documentation planned."), [node_id])
    w.emit(Terminate(node_id="0.0", report="A parser, how to run it, and its documentation."), ["0.0"])
    workspace = space / "doc" / "workspace"
    ws = Workspace(workspace)
    ws.write("parse.py", "def parse(line):\n    return line.split(',')\n", "Add the CSV parser", change_id="0.0.0.0:1")
    final = compose_final_report(w.state.nodes, "0.0", "A parser, how to run it, and its documentation.", {}, workspace)
    w.emit(Terminate(node_id="0", report=final), ["0"])
    w.commit()
    return w, workspace


class _Blocks(HTMLParser):
    """The text of each <pre> block and of each inline <code>."""

    def __init__(self) -> None:
        super().__init__()
        self.pre: list[str] = []
        self.inline_code: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        if tag == "pre":
            self.pre.append("")
        if tag == "code" and "pre" not in self._in[:-1]:
            self.inline_code.append("")

    def handle_endtag(self, tag: str) -> None:
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if "pre" in self._in:
            self.pre[-1] += data
        elif self._in and self._in[-1] == "code":
            self.inline_code[-1] += data


def test_parts_keep_code_blocks_nesting_and_clean_commit_lines(tmp_path: Path) -> None:
    w, workspace = _swarm(tmp_path)
    report = build_report("doc", w.log, workspace)
    w.close()
    md = report.markdown
    assert "Swarm-Change" not in md  # the engine's trailer is bookkeeping, not for the reader
    page = to_html(report)
    assert "Swarm-Change" not in page
    blocks = _Blocks()
    blocks.feed(page)
    # a part whose report starts with a fence: a real code block holding the code (not an empty box)
    assert "def parse(line):\n    return line.split(',')\n" in blocks.pre
    # a fence in mid-text: a code block, not inline code
    assert "python parse.py data.csv\n" in blocks.pre
    assert not any("parse.py data.csv" in code for code in blocks.inline_code)
    # nested parts: each its own paragraph, numbered inside its part, never run together
    assert "<p><strong>1. write the parser</strong>" in page
    assert (
        "<strong>3.1 write the README section</strong>" in page
        and "<strong>3.2 write the usage example</strong>" in page
    )
    assert "Nested report 0: done." in page and "Nested report 1: done." in page


def test_pdf_pages_render_and_read_back_in_order(tmp_path: Path) -> None:
    w, workspace = _swarm(tmp_path)
    report = build_report("doc", w.log, workspace)
    w.close()
    pdf = pypdfium2.PdfDocument(io.BytesIO(render_report(report, "pdf")))
    ARTIFACTS.mkdir(exist_ok=True)
    text = ""
    for number in range(len(pdf)):
        page = pdf[number]
        image = page.render(scale=1.5).to_pil()
        image.save(ARTIFACTS / f"report-page-{number + 1}.png")
        assert image.getbbox() is not None  # something is drawn
        text += page.get_textpage().get_text_range() + "\n"
    lines = [" ".join(line.split()) for line in text.splitlines()]
    # the code lines intact, each on its own line, in order
    code = ["def parse(line):", "return line.split(',')", "python parse.py data.csv"]
    at = [lines.index(line) for line in code]
    assert at == sorted(at), at
    # the document's order: final report, its parts (nested ones inside the third), workspace, usage
    order = [
        "write the parser",
        "explain how to run it",
        "Then read the output.",
        "plan the documentation",
        "write the README section",
        "write the usage example",
        "Written to the workspace",
        "Add the CSV parser (parse.py)",
        "Usage and cost",
    ]
    flat = " ".join(lines)
    positions = [flat.find(s) for s in order]
    assert all(p >= 0 for p in positions), [s for s, p in zip(order, positions, strict=True) if p < 0]
    assert positions == sorted(positions), positions
    assert "Swarm-Change" not in flat
