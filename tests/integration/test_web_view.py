"""The web view in real headless Chromium (Debian's ``chromium``), driven by Playwright for Python.

The swarm runs in the server against the scripted local model; the page
starts it, shows nodes as frames arrive, takes the user's answer, travels
back in time with the frame slider and shows the final report. A screenshot
is kept in ``tests/artifacts/`` (and ``docs/web-view.png`` is made the same
way). Under CI a missing browser is a failure; locally the test skips.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from swarm_star.cli.demo import DEMO_ANSWER, DIRECTIVE, demo_model
from swarm_star.models.node import STATUS_WORDS
from swarm_star.serve import create_app
from tests.helpers.model import TEST_KEY
from tests.helpers.paths import ARTIFACTS
from tests.helpers.server import serving

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SWARM_STAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        message = "browser tier needs " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_web_view_live_tree_question_slider_and_report(tmp_path: Path, model_server) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    server = model_server(demo_model(), latency=0.25)
    app = create_app(space=tmp_path, env={"OPENAI_API_KEY": TEST_KEY}, poll_interval=0.05, base_urls=[server.base_url])
    with serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # the server's Content-Security-Policy blocks nothing the page itself needs
            page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
            page.goto(base + "/")
            page.fill("#create textarea[name=directive]", DIRECTIVE)
            page.fill("#create input[name=base_url]", server.base_url)
            page.fill("#create input[name=model]", "scripted-demo")
            page.click("#create button[type=submit]")

            # nodes appear as frames arrive
            rows = page.locator("#tree .node")
            expect(rows.first).to_be_visible(timeout=20_000)
            first_count = rows.count()
            question = page.locator("#questions .question")
            expect(question.first).to_be_visible(timeout=30_000)
            expect(question.first).to_contain_text("How many people")
            during = rows.count()
            assert during > first_count or during >= 3
            swarm_id = page.evaluate("location.hash").split("/")[-1]
            expect(page.locator("#tree .node.s-waiting_user").first).to_be_visible()
            page.locator('#tree .node[data-id="0.0"] > .row-line .dir').click()
            expect(page.locator("#panel")).to_contain_text("Model calls", timeout=10_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-view.png"))

            # answer on the page; the running swarm picks it up
            question.first.locator("textarea").fill(DEMO_ANSWER)
            question.first.locator("button").click()
            expect(rows.nth(8)).to_be_attached(timeout=30_000)  # 9 nodes (no eval: the page's CSP forbids it)
            if page.locator("#status").inner_text() == "running":
                page.screenshot(path=str(ARTIFACTS / "web-view-running.png"))
            expect(page.locator("#status")).to_have_text("finished", timeout=60_000)
            final_count = rows.count()
            assert final_count > during
            with httpx.Client(base_url=base) as client:
                now = client.get(f"/api/swarms/{swarm_id}/tree").json()
                at = client.get(f"/api/swarms/{swarm_id}/tree", params={"frame": 6}).json()
            assert final_count == len(now["nodes"])
            expect(page.locator("#report")).to_be_visible(timeout=20_000)
            report = page.frame_locator("#report-frame")
            expect(report.locator("h2").first).to_have_text("Final report", timeout=20_000)
            expect(report.locator("body")).to_contain_text(DEMO_ANSWER)
            for fmt in ("md", "html", "pdf"):
                href = page.get_attribute(f"#export-{fmt}", "href")
                assert href and f"format={fmt}" in href

            # a node's panel: directive, report and its model calls
            page.locator('#tree .node[data-id="0.0"] > .row-line .dir').click()
            expect(page.locator("#panel")).to_contain_text("Model calls", timeout=10_000)
            expect(page.locator("#panel details.call").first).to_be_visible()

            page.screenshot(path=str(ARTIFACTS / "web-view-finished.png"), full_page=True)

            # time travel: the tree exactly as it was at frame 6
            page.locator("#slider").fill("6")
            expect(page.locator("#tree")).to_have_class("tree past", timeout=10_000)
            expect(page.locator("#frame-label")).to_have_text(f"frame 6 of {now['frame']}")
            time.sleep(0.3)
            shown = sorted(page.locator("#tree .node").evaluate_all("els => els.map(e => e.dataset.id)"))
            assert shown == sorted(n["id"] for n in at["nodes"])
            # the selected node's panel shows it as it was then: no report yet, only the calls made by then
            at_node = next(n for n in at["nodes"] if n["id"] == "0.0")
            expect(page.locator("#panel")).to_contain_text(f"status: {STATUS_WORDS[at_node['status']]}")
            expect(page.locator("#panel")).not_to_contain_text("Done: ")
            assert len(shown) < final_count
            page.screenshot(path=str(ARTIFACTS / "web-view-frame-6.png"), full_page=True)
            page.click("#live")
            expect(page.locator("#tree .node")).to_have_count(final_count)
            assert not errors, errors
        finally:
            browser.close()
    if os.environ.get("SWARM_STAR_DOCS_SCREENSHOT"):
        shutil.copy(ARTIFACTS / "web-view.png", os.environ["SWARM_STAR_DOCS_SCREENSHOT"])


def test_web_view_stays_usable_at_a_thousand_nodes(tmp_path: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    from tests.helpers.big_tree import write_big_tree

    state = write_big_tree(tmp_path, "big", (10, 10, 10))
    total = len(state.nodes)
    app = create_app(space=tmp_path, env={}, poll_interval=0.05)
    with serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            started = time.monotonic()
            page.goto(base + "/#/swarm/big")
            expect(page.locator("#tree .node")).to_have_count(total, timeout=30_000)
            expect(page.locator("#status")).to_have_text("finished")
            loaded = time.monotonic() - started
            assert loaded < 20, loaded  # generous: the machine is shared
            # finished subtrees are folded: the root and its ten managers are what shows
            visible = page.locator("#tree .node:visible")
            assert visible.count() == 11
            assert "1111" in page.locator("#totals").inner_text().replace(",", "")
            expect(page.locator('#tree .node[data-id="0"] > .row-line .cost')).to_contain_text("1000 calls")
            page.locator('#tree .node[data-id="0.3"] > .row-line .toggle').click()
            assert visible.count() == 21
            # time travel on the big tree
            page.locator("#slider").fill("500")
            expect(page.locator("#tree")).to_have_class("tree past", timeout=15_000)
            with httpx.Client(base_url=base) as client:
                at = client.get("/api/swarms/big/tree", params={"frame": 500}).json()
            expect(page.locator("#tree .node")).to_have_count(len(at["nodes"]), timeout=15_000)
            expect(page.locator("#status")).to_have_text("running at frame 500")
            expect(page.locator("#report")).to_be_hidden()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-view-1111-nodes.png"))
        finally:
            browser.close()


PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@contextmanager
def beacon() -> Iterator[tuple[str, list[str]]]:
    """A web server on another origin that serves a 1x1 PNG and records every path asked for."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(PIXEL)))
            self.end_headers()
            self.wfile.write(PIXEL)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


LOAD_IMAGE = """url => new Promise(done => {
  const img = new Image();
  img.onload = () => done("loaded");
  img.onerror = () => done("blocked");
  img.src = url;
  document.body.append(img);
})"""


def test_web_view_and_reports_fetch_no_remote_image(tmp_path: Path) -> None:
    """Issue 19, item 5: an image from elsewhere in model text is never fetched by the
    browser, neither in the web view nor in the report (framed or opened alone): the
    server's Content-Security-Policy allows images from itself only."""
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    from swarm_star.models import NodeRole, Terminate
    from tests.helpers.big_tree import TreeWriter

    with beacon() as (elsewhere, hits):
        w = TreeWriter(tmp_path, "img1", directive="show a picture")
        w.node("0", None, NodeRole.ROOT, "show a picture")
        report = f"Here it is: ![beacon]({elsewhere}/report.png) and <img src='{elsewhere}/raw.png'>"
        w.emit(Terminate(node_id="0", report=report), ["0"])
        w.commit()
        w.close()
        app = create_app(space=tmp_path, env={}, poll_interval=0.05)
        with serving(app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page()
                # the control: without the server's policy, the browser does fetch the beacon
                assert page.evaluate(LOAD_IMAGE, f"{elsewhere}/control.png") == "loaded"
                assert hits == ["/control.png"]

                page.goto(base + "/#/swarm/img1")
                expect(page.locator("#report")).to_be_visible(timeout=20_000)
                framed = page.frame_locator("#report-frame")
                expect(framed.locator("body")).to_contain_text("Here it is", timeout=20_000)
                assert page.evaluate(LOAD_IMAGE, f"{elsewhere}/page.png") == "blocked"
                page.goto(base + "/api/swarms/img1/report?format=html")
                expect(page.locator("body")).to_contain_text("Here it is")
                assert page.evaluate(LOAD_IMAGE, f"{elsewhere}/alone.png") == "blocked"
                time.sleep(0.5)  # any late request would have arrived by now
            finally:
                browser.close()
    assert hits == ["/control.png"], hits


def test_web_view_drops_the_token_from_every_url(tmp_path: Path) -> None:
    """Issue 19, item 13: opened as /?token=…, the page keeps the token out of the address
    bar, the event-stream URL, the report frame and the export links (the HttpOnly cookie
    the server set carries it from then on); a reload without it still works."""
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    from tests.helpers.big_tree import write_big_tree

    token = "tok-drop-me-123"
    state = write_big_tree(tmp_path, "t1", (2, 2))
    app = create_app(space=tmp_path, env={}, token=token, poll_interval=0.05)
    with serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            requested: list[str] = []
            page.on("request", lambda req: requested.append(req.url))
            page.goto(f"{base}/?token={token}#/swarm/t1")
            expect(page.locator("#tree .node")).to_have_count(len(state.nodes), timeout=20_000)
            expect(page.locator("#conn")).to_have_class("conn on", timeout=20_000)  # the event stream is open
            framed = page.frame_locator("#report-frame")
            expect(framed.locator("body")).to_contain_text("the big tree is grown", timeout=20_000)
            assert page.url == f"{base}/#/swarm/t1"
            links = [page.get_attribute(f"#export-{fmt}", "href") or "" for fmt in ("md", "html", "pdf")]
            frame_src = page.get_attribute("#report-frame", "src") or ""
            events = [u for u in requested if "/events" in u]
            assert events and all(link for link in links) and frame_src
            assert not [u for u in [*links, frame_src, *events] if token in u], (links, frame_src, events)
            assert [u for u in requested if token in u] == [f"{base}/?token={token}"], requested
            # the export links work with the cookie alone
            assert page.request.get(base + links[0]).status == 200
            # a reload (no token in the address) still shows the swarm, live
            page.reload()
            expect(page.locator("#tree .node")).to_have_count(len(state.nodes), timeout=20_000)
            expect(page.locator("#conn")).to_have_class("conn on", timeout=20_000)
            expect(framed.locator("body")).to_contain_text("the big tree is grown", timeout=20_000)
        finally:
            browser.close()
