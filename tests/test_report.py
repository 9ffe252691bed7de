"""Report export (Markdown, HTML, PDF) from a real swarm run against the scripted model."""

from __future__ import annotations

import io
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
