"""Report export (Markdown, HTML, PDF) from a real swarm run against the scripted model."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli import main
from swarm_star.cli.demo import DEMO_ANSWER, DIRECTIVE, demo_model
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.render.report import build_report, render_report, to_html
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.big_tree import write_big_tree


@pytest.fixture
def demo_swarm(tmp_path: Path, model_server) -> Swarm:  # type: ignore[no-untyped-def]
    """The demo's swarm, finished: a question answered, a script committed to the workspace."""
    server = model_server(demo_model())
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    swarm = Swarm.create(DIRECTIVE, space=tmp_path, swarm_id="demo", settings=settings)
    assert swarm.run_sync(RunOptions(env={})).status == "questions"
    swarm.answer(swarm.questions()[0][1].id, DEMO_ANSWER)
    assert swarm.run_sync(RunOptions(env={})).status == "finished"
    yield swarm
    swarm.close()


def test_markdown_has_every_section_in_order(demo_swarm: Swarm) -> None:
    report = build_report("demo", demo_swarm.log, demo_swarm.locator.swarm_dir("demo") / "workspace")
    md = report.markdown
    sections = ["## Final report", "## Parts in tree order", "## Workspace", "## Questions and answers"]
    positions = [md.index(s) for s in [*sections, "## Usage and cost"]]
    assert positions == sorted(positions)
    final = md[positions[0] : positions[1]]
    assert demo_swarm.tree().root.report in final  # type: ignore[union-attr]
    # parts in tree order: every node but the root, parents before children, siblings in spawn order
    state = demo_swarm.tree()
    order = [
        line.split("**")[1] for line in md[positions[1] : positions[2]].splitlines() if line.lstrip().startswith("- **")
    ]
    assert set(order) == set(state.nodes) - {"0"}
    assert order.index("0.0.1") < order.index("0.0.1.0") < order.index("0.0.2")
    # the workspace: the committed script and its commit
    workspace = md[positions[2] : positions[3]]
    commit = report.commits[0]
    assert commit.sha[:10] in workspace and commit.paths[0].endswith(".py") and commit.paths[0] in workspace
    # the question and the user's answer
    qa = md[positions[3] : positions[4]]
    assert "How many people are coming" in qa and DEMO_ANSWER in qa
    # usage by role adds up to the swarm's total
    rows = [row.split("|") for row in md[positions[4] :].split("### By subtree")[0].splitlines()]
    calls_by_role = [int(cells[3]) for cells in rows if len(cells) == 7 and cells[3].strip().isdigit()]
    assert sum(calls_by_role) == state.usage.calls


def test_failures_are_listed_with_their_errors(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    # every router level answers "none": the routing fails and says why
    server = model_server(ScriptedModel(plans={"split": ["impossible part", "another"]}, routes={"impossible": None}))
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    with Swarm.create("split the work", space=tmp_path, swarm_id="f1", settings=settings) as swarm:
        swarm.run_sync(RunOptions(env={}))
        failed = [n for n in swarm.tree().nodes.values() if n.error]
        assert failed
        md = build_report("f1", swarm.log).markdown
    assert "### Failures" in md
    for node in failed:
        assert f"**{node.id}**" in md and node.error.split(":")[0] in md


def test_model_text_is_escaped_in_html(tmp_path: Path) -> None:
    from tests.helpers.big_tree import TreeWriter

    w = TreeWriter(tmp_path, "x", directive="<script>alert(1)</script> do it")
    from swarm_star.models import NodeRole, Terminate

    w.node("0", None, NodeRole.ROOT, "<script>alert(1)</script> do it")
    w.emit(Terminate(node_id="0", report="<img src=x onerror=alert(2)>"), ["0"])
    w.commit()
    report = build_report("x", w.log)
    w.close()
    page = to_html(report)
    assert "<script>alert" not in page and "<img" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_report_command_each_format(demo_swarm: Swarm, tmp_path: Path) -> None:
    space = str(demo_swarm.locator.space)
    out, err = io.StringIO(), io.StringIO()
    assert main(["--space", space, "report", "demo"], out=out, err=err) == 0, err.getvalue()
    assert out.getvalue().startswith("# Swarm demo") and DEMO_ANSWER in out.getvalue()

    for fmt, name in (("md", "r.md"), ("html", "r.html"), ("pdf", "r.pdf")):
        target = tmp_path / name
        out = io.StringIO()
        assert main(["--space", space, "report", "demo", "-o", str(target)], out=out, err=err) == 0, err.getvalue()
        assert f"({fmt}," in out.getvalue()
    assert (tmp_path / "r.md").read_text().startswith("# Swarm demo")
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!doctype html>") and "<h2>Final report</h2>" in html
    # the PDF opens and holds the report's text
    reader = PdfReader(tmp_path / "r.pdf")
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "Final report" in text and "Questions and answers" in text
    report = demo_swarm.tree().root.report  # type: ignore[union-attr]
    assert DEMO_ANSWER in text and report.splitlines()[0] in text

    err = io.StringIO()
    assert main(["--space", space, "report", "nope"], out=io.StringIO(), err=err) == 2
    assert err.getvalue() == f"swarm-star: error: no swarm 'nope' in {Path(space)}\n"
    err = io.StringIO()
    assert main(["--space", space, "report", "demo", "--format", "doc"], out=io.StringIO(), err=err) == 2
    err = io.StringIO()
    code = main(["--space", space, "report", "demo", "-o", str(tmp_path / "no" / "dir" / "r.md")], out=out, err=err)
    assert code == 2 and "cannot write" in err.getvalue()


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
def test_pdf_of_a_thousand_nodes(tmp_path: Path) -> None:
    state = write_big_tree(tmp_path, "big", (10, 10, 10))
    assert len(state.nodes) == 1111
    from swarm_star.state.history import SwarmLog
    from swarm_star.store import StoreLocator

    with StoreLocator(tmp_path).open("big") as store:
        report = build_report("big", SwarmLog(store))
    pdf = render_report(report, "pdf")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 10
    assert "the big tree is grown" in (reader.pages[0].extract_text() or "")


def test_run_says_where_the_report_and_workspace_are(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    server = model_server(demo_model())
    out = io.StringIO()
    code = main(
        ["--space", str(tmp_path), "run", DIRECTIVE, "--base-url", server.base_url, "--swarm-id", "w1", "--no-input"],
        out=out,
        err=io.StringIO(),
    )
    assert code == 3  # the demo asks first
    text = out.getvalue()
    assert "report w1 -o w1-report.md" in text


# Issue 19 items 4 and 5: reports never load a local file or a remote URL that model text names.

RESOURCE_PAYLOADS = {
    "local png": "![chart]({png})",
    "etc hostname": "![host](/etc/hostname)",
    "dev zero": "![zeros](/dev/zero)",
    "remote image": "![pixel]({beacon}/pixel.png)",
    "reference image": "![ref][pic]\n\n[pic]: {beacon}/ref.png",
    "image in a table": "| chart |\n|---|\n| ![cell](/dev/zero) |",
    "raw html": '<img src="{beacon}/raw.png"> <img src="/dev/zero"> <link rel="stylesheet" href="{beacon}/s.css">'
    ' <iframe src="{beacon}/frame"></iframe> <div style="background:url({beacon}/bg.png)">x</div>'
    ' <style>@import url({beacon}/i.css);</style> <svg><image href="{beacon}/svg.png"/></svg>',
}
LOADS_NOTHING = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "strong", "em", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "hr", "br",
}  # fmt: skip


def _swarm_with_text(space: Path, swarm_id: str, text: str) -> None:
    """A finished swarm whose leaf report and final report are ``text`` (as a model wrote it)."""
    from swarm_star.models import NodeRole, Terminate
    from tests.helpers.big_tree import TreeWriter

    w = TreeWriter(space, swarm_id, directive="draw a chart")
    w.node("0", None, NodeRole.ROOT, "draw a chart")
    w.node("0.0", "0", NodeRole.ACTION, "draw it")
    w.emit(Terminate(node_id="0.0", report=f"Here it is: {text}"), ["0.0"])
    w.emit(Terminate(node_id="0", report=f"The chart:\n\n{text}\n\nDone."), ["0"])
    w.commit()
    w.close()


def _report_in_a_process(space: Path, swarm_id: str, target: Path) -> tuple[int, str, float]:
    """``swarm-star report`` in its own process, capped at 1 GiB of address space and 60 s."""
    import resource
    import subprocess
    import sys
    import time

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "swarm_star", "--space", str(space), "report", swarm_id, "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=cap,
    )
    return done.returncode, done.stderr, time.monotonic() - started


def _pdf_images(data: bytes) -> list[str]:
    """Every image XObject in the PDF (on any page), by name."""
    reader = PdfReader(io.BytesIO(data))
    found = []
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        xobjects = resources.get("/XObject") or {}
        for name, ref in xobjects.items():
            if ref.get_object().get("/Subtype") == "/Image":
                found.append(name)
    return found


@pytest.mark.parametrize("case", list(RESOURCE_PAYLOADS))
def test_pdf_report_never_opens_what_model_text_points_at(tmp_path: Path, case: str) -> None:
    """fpdf2 opened an image's src: a local PNG was embedded, /etc/hostname broke the export,
    /dev/zero was read until the memory cap; an http(s) src was fetched."""
    from tests.helpers.beacon import beacon, write_png

    png = write_png(tmp_path / "chart.png")
    with beacon() as server:
        text = RESOURCE_PAYLOADS[case].format(png=png, beacon=server.url)
        _swarm_with_text(tmp_path / "space", "img", text)
        code, err, seconds = _report_in_a_process(tmp_path / "space", "img", tmp_path / "r.pdf")
        assert code == 0, err[-2000:]
        assert seconds < 30
        assert server.hits == []
    data = (tmp_path / "r.pdf").read_bytes()
    assert _pdf_images(data) == [] and b"/Subtype /Image" not in data
    words = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages)
    if "image" in case or case in ("local png", "etc hostname", "dev zero"):
        alt = re.search(r"!\[(\w+)\]", text).group(1)  # type: ignore[union-attr]
        assert f"[image: {alt}]" in " ".join(words.split())  # a visible placeholder where the image was


class _ResourceTags(HTMLParser):
    """Every element of a page and each attribute that could make a browser load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.loading: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            allowed = (tag == "a" and name == "href") or (tag == "meta" and name in ("charset", "name", "content"))
            allowed = allowed or (tag == "meta" and name == "http-equiv" and value == "Content-Security-Policy")
            allowed = allowed or (tag == "html" and name == "lang")
            if not allowed:
                self.loading.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def test_html_report_has_no_element_that_loads_anything(tmp_path: Path) -> None:
    """markdown-it turned ``![x](http://…)`` into an ``<img>`` the viewer's browser fetched (beacon hits)."""
    from tests.helpers.beacon import write_png

    png = write_png(tmp_path / "chart.png")
    text = "\n\n".join(p.format(png=png, beacon="http://127.0.0.1:9") for p in RESOURCE_PAYLOADS.values())
    _swarm_with_text(tmp_path, "img", text)
    out, err = io.StringIO(), io.StringIO()
    assert main(["--space", str(tmp_path), "report", "img", "-o", str(tmp_path / "r.html")], out=out, err=err) == 0
    page = (tmp_path / "r.html").read_text()
    parser = _ResourceTags()
    parser.feed(page)
    assert parser.tags <= LOADS_NOTHING, parser.tags - LOADS_NOTHING
    assert parser.loading == []
    assert all("url(" not in css and "@import" not in css for css in parser.styles)
    # the images are visible links, the raw markup visible text
    for alt, src in (("chart", str(png)), ("host", "/etc/hostname"), ("pixel", "http://127.0.0.1:9/pixel.png")):
        assert f'<a href="{src}">[image: {alt}]</a>' in page
    assert "&lt;iframe src=" in page and "&lt;img src=&quot;/dev/zero&quot;&gt;" in page
    # and wherever the file is opened, its policy lets it load nothing but its own style
    assert "default-src 'none'; style-src 'unsafe-inline'" in page


@pytest.mark.browser
def test_html_report_opened_in_a_browser_fetches_nothing(tmp_path: Path) -> None:
    """The viewer's browser fetched remote images named in model text (2 beacon hits in the issue)."""
    from tests.helpers.beacon import beacon, write_png
    from tests.integration.test_web_view import CHROMIUM, CHROMIUM_ARGS, _need_browser

    _need_browser()
    from playwright.sync_api import sync_playwright

    png = write_png(tmp_path / "chart.png")
    with beacon() as server:
        text = "\n\n".join(p.format(png=png, beacon=server.url) for p in RESOURCE_PAYLOADS.values())
        _swarm_with_text(tmp_path, "img", text)
        assert main(["--space", str(tmp_path), "report", "img", "-o", str(tmp_path / "r.html")]) == 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto((tmp_path / "r.html").as_uri(), wait_until="networkidle")
            placeholders, images = page.locator("text=[image: pixel]").count(), page.locator("img").count()
            browser.close()
        assert server.hits == []
    assert images == 0 and placeholders == 2  # in the leaf's report and in the final report
