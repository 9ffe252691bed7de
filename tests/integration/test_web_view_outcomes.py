"""The web view in real Chromium: totals after Stop and Resume, failures in sight, partial outcomes.

The server runs the swarms against the scripted local model; the page's
numbers are compared with what the API answers for the same swarm (the
report on the page is built from the same stored frames).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_star.models.node import STATUS_WORDS
from swarm_star.render.text import duration
from swarm_star.serve import create_app
from swarm_star.state.projection import RunClock
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import TEST_KEY
from tests.helpers.paths import ARTIFACTS, ROOT
from tests.helpers.server import serving
from tests.integration.test_web_view import CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = pytest.mark.browser


def _start(base: str, directive: str, model_url: str) -> str:
    body = {"directive": directive, "models": {"base_url": model_url, "default_model": "scripted"}}
    with httpx.Client(base_url=base) as client:
        answer = client.post("/api/swarms", json=body)
        assert answer.status_code in (200, 201, 202), answer.text
        return str(answer.json()["swarm_id"])


def _tree(base: str, swarm_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=base) as client:
        return dict(client.get(f"/api/swarms/{swarm_id}/tree").json())


def test_status_words_on_the_page_are_the_python_ones() -> None:
    script = (ROOT / "swarm_star" / "serve" / "static" / "app.js").read_text()
    table = re.search(r"const STATUS_WORDS = \{(.*?)\};", script, re.S)
    assert table is not None
    on_page = dict(re.findall(r'(\w+): "([^"]+)"', table.group(1)))
    assert on_page == {str(k): v for k, v in STATUS_WORDS.items()}


def test_totals_after_stop_and_resume_equal_the_servers(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    script = ScriptedModel(plans={"menu": [f"cook dish {i}" for i in range(6)]})
    server = model_server(script, latency=0.6)
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            swarm_id = _start(base, "plan a menu", server.base_url)
            page.goto(f"{base}/#/swarm/{swarm_id}")
            # stop while the parts' calls are in flight: they are cancelled, and run again on resume
            expect(page.locator("#tree .node.s-running").nth(2)).to_be_attached(timeout=30_000)
            expect(page.locator("#stop")).to_be_visible(timeout=10_000)
            page.click("#stop")
            expect(page.locator("#status")).to_contain_text("stopped", timeout=30_000)
            expect(page.locator("#resume")).to_be_visible(timeout=10_000)
            page.click("#resume")
            expect(page.locator("#status")).to_have_text("finished", timeout=60_000)
            tree = _tree(base, swarm_id)
            usage = tree["usage"]
            cancelled = [
                f
                for f in httpx.get(
                    f"{base}/api/swarms/{swarm_id}/history", params={"kind": "llm_call", "limit": 1000}
                ).json()["frames"]
                if (f["op"].get("error") or "").startswith("cancelled")
            ]
            assert cancelled, "the stop cancelled no call: the test did not test anything"
            totals = page.locator("#totals")
            expect(totals).to_contain_text(f"{usage['calls']} calls · {usage['tokens']} tokens", timeout=10_000)
            root_row = page.locator('#tree .node[data-id="0"] > .row-line .cost')
            expect(root_row).to_contain_text(f" {usage['calls']} calls")
            for node in tree["nodes"]:  # every node's own calls: the panel's sum equals the server's
                if node["usage"]["calls"] and not node["children"]:
                    row = page.locator(f'#tree .node[data-id="{node["id"]}"] > .row-line .cost')
                    if row.is_visible():
                        expect(row).to_contain_text(f" {node['usage']['calls']} calls")
            # elapsed: the run's time from its frames, also when the page is opened after the end
            page.reload()
            expect(page.locator("#status")).to_have_text("finished", timeout=20_000)
            took = duration(RunClock(**_tree(base, swarm_id)["clock"]).elapsed())
            assert took != "0 s"
            expect(totals).to_contain_text(f"· {took}", timeout=10_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-view-stop-resume.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()


def test_a_failed_node_stays_in_sight_and_a_partial_outcome_is_amber(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    script = ScriptedModel(
        plans={"trip": ["book the hotel", "book the train", "book the unicorn"]}, routes={"unicorn": None}
    )
    server = model_server(script)
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            missing: list[str] = []  # e.g. the favicon a browser guessed at /favicon.ico
            page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
            swarm_id = _start(base, "plan a trip", server.base_url)
            page.goto(f"{base}/#/swarm/{swarm_id}")
            status = page.locator("#status")
            expect(status).to_have_text("finished (partial: 1 of 3 parts failed)", timeout=60_000)
            expect(status).to_have_class("badge finished partial")
            color = status.evaluate("e => getComputedStyle(e).backgroundColor")
            assert color == "rgb(240, 160, 32)", color  # amber, not the green of a complete finish
            failed = [n["id"] for n in _tree(base, swarm_id)["nodes"] if n["status"] == "failed"]
            assert failed
            for node_id in failed:  # the failure is not folded into a green row
                expect(page.locator(f'#tree .node[data-id="{node_id}"] > .row-line')).to_be_visible()
            # opened afresh (the snapshot, not the live frames), it is still in sight
            page.reload()
            expect(page.locator(f'#tree .node[data-id="{failed[0]}"] > .row-line')).to_be_visible(timeout=20_000)
            page.locator(f'#tree .node[data-id="{failed[0]}"] > .row-line .dir').click()
            panel = page.locator("#panel")
            expect(panel).to_contain_text("status: failed", timeout=10_000)
            # the heading counts the calls listed under it
            heading = panel.locator("h4", has_text="Model calls").inner_text()
            listed = panel.locator("details.call").count()
            assert heading.startswith(f"Model calls ({listed}"), (heading, listed)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-view-partial.png"), full_page=True)
            assert not missing, missing
        finally:
            browser.close()
