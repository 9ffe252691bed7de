"""The web view's fork, timeline, retry and reports of failed swarms, in real headless Chromium.

Swarms are made through the API against the scripted local model (fast, no page
needed for that), then the page is opened on them: fork at the frame slider and
resume the fork with another answer; the timeline draws one bar per span the API
gives; a failed swarm shows its report and a Retry button that re-runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.cli.demo import DEMO_ANSWER, DIRECTIVE, demo_model
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.serve import create_app
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.demo import finished_demo
from tests.helpers.model import TEST_KEY
from tests.helpers.paths import ARTIFACTS
from tests.helpers.server import serving
from tests.integration.test_web_view import CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = pytest.mark.browser

OTHER_ANSWER = "12 people, in Ghent, budget 2000 EUR"


def open_page(pw: Any, base: str, path: str) -> tuple[Any, Any, list[str]]:
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(base + path)
    return browser, page, errors


def test_fork_at_the_slider_then_resume_the_fork_with_another_answer(tmp_path: Path, model_server: Any) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    server = model_server(demo_model())
    with finished_demo(tmp_path, server.base_url) as swarm:
        at = next(e.frame for e in swarm.history() if e.op.kind == "user_answer") - 1
        frames = swarm.reader.frame_count()
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, sync_playwright() as pw:
        browser, page, errors = open_page(pw, base, "/#/swarm/demo")
        try:
            expect(page.locator("#status")).to_have_text("finished", timeout=20_000)
            page.locator("#slider").fill(str(at))
            expect(page.locator("#tree")).to_have_class("tree past", timeout=10_000)
            expect(page.locator("#frame-label")).to_have_text(f"frame {at} of {frames - 1}")
            past = sorted(page.locator("#tree .node").evaluate_all("els => els.map(e => e.dataset.id)"))
            page.click("#fork")
            expect(page.locator("#status")).to_have_text(f"stopped (forked from demo@{at})", timeout=20_000)
            fork_id = page.evaluate("location.hash").split("/")[-1]
            assert fork_id != "demo"
            # the fork's tree is the original's at that frame; its question waits again
            assert sorted(page.locator("#tree .node").evaluate_all("els => els.map(e => e.dataset.id)")) == past
            question = page.locator("#questions .question").first
            expect(question).to_contain_text("How many people", timeout=10_000)
            expect(page.locator("#report")).to_be_visible()  # a stopped swarm has its report too
            question.locator("textarea").fill(OTHER_ANSWER)
            question.locator("button").click()
            expect(question).to_contain_text("Answer sent")
            page.click("#resume")
            expect(page.locator("#status")).to_have_text("finished", timeout=60_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-fork-finished.png"), full_page=True)
            with httpx.Client(base_url=base) as client:
                asker = client.get(f"/api/swarms/{fork_id}/nodes/0.0.0").json()
                original = client.get("/api/swarms/demo/nodes/0.0.0").json()
                assert client.get("/api/swarms/demo").json()["frames"] == frames
            assert OTHER_ANSWER in asker["report"] and DEMO_ANSWER in original["report"]
            report = page.frame_locator("#report-frame")
            expect(report.locator("body")).to_contain_text(OTHER_ANSWER, timeout=20_000)
            assert not errors, errors
        finally:
            browser.close()


def test_the_timeline_draws_one_bar_per_span(tmp_path: Path, model_server: Any) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    server = model_server(demo_model())
    finished_demo(tmp_path, server.base_url).close()
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, sync_playwright() as pw:
        with httpx.Client(base_url=base) as client:
            line = client.get("/api/swarms/demo/timeline").json()
        nodes = [b for b in line["bars"] if b["kind"] == "node"]
        browser, page, errors = open_page(pw, base, "/#/swarm/demo")
        try:
            expect(page.locator("#status")).to_have_text("finished", timeout=20_000)
            page.click("#timeline-toggle")
            expect(page.locator("#timeline .bar")).to_have_count(len(line["bars"]), timeout=10_000)
            expect(page.locator("#timeline .bar.k-node")).to_have_count(len(nodes))
            expect(page.locator("#timeline .tl-row.tl-node")).to_have_count(len({b["node_id"] for b in nodes}))
            expect(page.locator("#timeline-summary")).to_contain_text(f"{len(nodes)} activations")
            # bars sit inside their track, left to right in time
            boxes = page.locator("#timeline .bar.k-node").evaluate_all(
                "els => els.map(e => [e.getBoundingClientRect().left, e.parentElement.getBoundingClientRect().right])"
            )
            assert all(left <= right for left, right in boxes)
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator("#timeline-box").screenshot(path=str(ARTIFACTS / "web-timeline.png"))
            assert not errors, errors
        finally:
            browser.close()


def test_a_failed_swarm_shows_its_report_and_is_retried_from_the_page(tmp_path: Path, model_server: Any) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    scripted = ScriptedModel(plans={"one": ["bad part"]}, routes={"bad": None})  # no action fits: it fails
    server = model_server(scripted)
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    with Swarm.create("one part", space=tmp_path, swarm_id="bad", settings=settings) as swarm:
        assert swarm.run_sync(RunOptions(env={})).status == "failed"
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, sync_playwright() as pw:
        browser, page, errors = open_page(pw, base, "/#/swarm/bad")
        try:
            expect(page.locator("#status")).to_have_text("failed", timeout=20_000)
            expect(page.locator("#report")).to_be_visible(timeout=10_000)
            report = page.frame_locator("#report-frame")
            expect(report.locator("body")).to_contain_text("no action fits", timeout=20_000)
            for fmt in ("md", "html", "pdf"):
                href = page.get_attribute(f"#export-{fmt}", "href")
                assert href and f"format={fmt}" in href
            expect(page.locator("#retry")).to_be_visible()
            expect(page.locator("#resume")).to_be_hidden()
            scripted.routes.clear()  # the cause is gone
            page.click("#retry")
            expect(page.locator("#status")).to_have_text("finished", timeout=60_000)
            expect(page.locator("#retry")).to_be_hidden()
            with httpx.Client(base_url=base) as client:
                frames = client.get("/api/swarms/bad/history", params={"kind": "retry"}).json()["frames"]
            assert frames
            assert not errors, errors
        finally:
            browser.close()


def test_in_flight_shows_the_call_being_streamed(tmp_path: Path, model_server: Any) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    from swarm_star.testing.openai_server import Fault

    # the manager's plan streams for 4 s, a piece every 0.2 s
    server = model_server(demo_model(), faults=[Fault("slowstream", delay=4.0, every=0.2)])
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, sync_playwright() as pw:
        with httpx.Client(base_url=base) as client:
            made = client.post("/api/swarms", json={"directive": DIRECTIVE, "swarm_id": "live"})
            assert made.status_code == 201, made.text
        browser, page, errors = open_page(pw, base, "/#/swarm/live")
        try:
            row = page.locator('#inflight-list tbody tr[data-node="0.0"]')
            expect(row).to_contain_text("plan", timeout=20_000)
            expect(row).to_contain_text("pieces", timeout=10_000)
            first = float(row.locator("td").nth(3).inner_text().split()[0])
            page.wait_for_timeout(1200)
            later = row.locator("td").nth(3).inner_text() if row.count() else None
            assert later is None or float(later.split()[0]) > first  # the elapsed time goes on
            expect(page.locator("#inflight")).to_be_hidden(timeout=20_000)  # the call ended
            expect(page.locator("#questions .question").first).to_be_visible(timeout=20_000)
            assert not errors, errors
        finally:
            browser.close()
