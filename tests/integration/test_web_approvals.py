"""Approvals on the web page, in real headless Chromium (issue 23, item 2).

The served swarm writes two files through the real filesystem MCP server
(``write_file`` is destructive, so each call is asked); the page shows each
exact call with Approve / Deny buttons; one is approved and one denied by
clicking, and the tree shows both outcomes: the approved leaf reports what the
tool did, the denied leaf reports the denial its manager planned around.
The call's words come from the model, so markup in them stays text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from swarm_star.serve import create_app
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.mcp_servers import server_command, write_config
from tests.helpers.model import TEST_KEY
from tests.helpers.server import serving
from tests.integration.test_web_view import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = pytest.mark.browser

MARKUP = "<b id='bold'>alpha</b><img src=x>"


def test_approve_one_call_and_deny_another_on_the_page(tmp_path: Path, model_server: Any) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    folder = tmp_path / "files"
    folder.mkdir()
    config = write_config(
        tmp_path / "mcp.json", {"filesystem": {"command": server_command("filesystem"), "args": [str(folder)]}}
    )
    alpha, beta = folder / "alpha.txt", folder / "beta.txt"
    model = ScriptedModel(
        plans={"both notes": ["write the alpha file", "write the beta file"]},
        routes={"alpha file": "tools/filesystem/write_file", "beta file": "tools/filesystem/write_file"},
        tool_calls={
            "alpha file": [{"path": str(alpha), "content": MARKUP}],
            "beta file": [{"path": str(beta), "content": "beta must not be written"}],
        },
    )
    server = model_server(model)
    app = create_app(
        space=tmp_path / "space",
        env={"OPENAI_API_KEY": TEST_KEY},
        poll_interval=0.05,
        base_urls=[server.base_url],
        mcp=str(config),
    )
    with serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(base + "/")
            page.fill("#create textarea[name=directive]", "write both notes files")
            page.fill("#create input[name=base_url]", server.base_url)
            page.fill("#create input[name=model]", "scripted")
            page.click("#create button[type=submit]")

            cards = page.locator("#questions .approval")
            expect(cards).to_have_count(2, timeout=60_000)
            swarm_id = page.evaluate("location.hash").split("/")[-1]
            with httpx.Client(base_url=base) as client:
                listed = client.get(f"/api/swarms/{swarm_id}/approvals").json()
            assert len(listed) == 2
            # each card shows the exact call, as text: the model's markup is not markup on the page
            alpha_card = cards.filter(has_text=str(alpha))
            beta_card = cards.filter(has_text=str(beta))
            expect(alpha_card.locator("pre.call-text")).to_contain_text("tools/filesystem/write_file")
            expect(alpha_card.locator("pre.call-text")).to_contain_text(json.dumps(MARKUP)[1:-1])
            assert page.locator("#bold").count() == 0 and alpha_card.locator("img").count() == 0
            expect(page.locator("#tree .node.s-waiting_user")).to_have_count(2)
            assert not alpha.exists() and not beta.exists()  # nothing ran before an answer
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-view-approvals.png"))

            alpha_card.get_by_role("button", name="Approve").click()
            expect(page.locator("#questions")).to_contain_text("Approved:", timeout=10_000)
            beta_card.get_by_role("button", name="Deny").click()

            expect(page.locator("#status")).to_have_text("finished", timeout=60_000)
            assert alpha.read_text() == MARKUP and not beta.exists()
            with httpx.Client(base_url=base) as client:
                tree = client.get(f"/api/swarms/{swarm_id}/tree").json()
            leaves = {n["directive"]: n for n in tree["nodes"] if n["action_id"].startswith("tools.filesystem.")}
            approved, denied = leaves["write the alpha file"], leaves["write the beta file"]
            # the outcome in the tree: both leaves done; the denied one's report says so
            for leaf in (approved, denied):
                expect(page.locator(f'#tree .node[data-id="{leaf["id"]}"]')).to_have_class(
                    re.compile(r"\bs-terminated\b"), timeout=10_000
                )
            _unfold(page, denied["id"])
            _unfold(page, approved["id"])
            page.locator(f'#tree .node[data-id="{denied["id"]}"] > .row-line .dir').click()
            expect(page.locator("#panel")).to_contain_text("denied by the user", timeout=10_000)
            page.locator(f'#tree .node[data-id="{approved["id"]}"] > .row-line .dir').click()
            expect(page.locator("#panel")).to_contain_text("Tool results: Successfully wrote", timeout=10_000)
            expect(page.locator("#panel")).not_to_contain_text("denied by the user")
            expect(page.locator("#questions")).to_be_hidden()
            page.screenshot(path=str(ARTIFACTS / "web-view-approvals-done.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()


def _unfold(page: Any, node_id: str) -> None:
    """Open the folded (finished) ancestors of a node, as a user clicks their toggles."""
    parts = node_id.split(".")
    for depth in range(1, len(parts)):
        row = page.locator(f'#tree .node[data-id="{".".join(parts[:depth])}"]')
        if "collapsed" in (row.get_attribute("class") or ""):
            row.locator("> .row-line .toggle").click()
