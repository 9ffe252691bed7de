"""The swarm-star command through main(argv), plus bad input with documented exit codes."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import pytest

from swarm_star.cli import EXIT, main
from swarm_star.testing.scripted import ScriptedModel


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def server(model_server, monkeypatch):  # type: ignore[no-untyped-def]
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    script = ScriptedModel(
        plans={"trip": ["book a hotel", "ask the user about dates"], "simple": ["a", "b"]},
        routes={"ask the user": "interaction/ask_user_questions"},
    )
    return model_server(script)


def test_run_json_finishes(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "--space",
        str(tmp_path),
        "run",
        "simple job",
        "--base-url",
        server.base_url,
        "--json",
        "--swarm-id",
        "s1",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "finished" and data["swarm_id"] == "s1"
    assert data["report"].startswith("Done: simple job")
    assert data["usage"]["calls"] == server.requests
    assert set(data) == {
        "swarm_id",
        "status",
        "reason",
        "report",
        "questions",
        "usage",
        "nodes",
        "frames",
    }

    code, out, _ = cli("--space", str(tmp_path), "tree", "s1")
    assert code == 0 and "0 root:root [terminated]" in out and "router:route_action" in out
    code, out, _ = cli("--space", str(tmp_path), "tree", "s1", "--frame", "0", "--json")
    assert code == 0 and [n["id"] for n in json.loads(out)["nodes"]] == ["0"]
    code, out, _ = cli("--space", str(tmp_path), "history", "s1")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["0", out.split()[1], "spawn"]
    code, out, _ = cli("--space", str(tmp_path), "history", "s1", "2")
    assert code == 0 and json.loads(out)["frame"] == 2
    code, out, _ = cli("--space", str(tmp_path), "history", "s1", "--node", "0.0", "--json")
    assert code == 0 and all("0.0" in e["nodes"] for e in json.loads(out))
    code, out, _ = cli("--space", str(tmp_path), "list", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "finished"
    code, out, _ = cli("--space", str(tmp_path), "spaces", "action")
    assert code == 0 and "write_python" in out and "route_action (not routable)" in out
    code, out, _ = cli("--space", str(tmp_path), "spaces", "memory", "--swarm", "s1")
    assert code == 0 and "Directive" in out


def test_questions_answer_resume_flow(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    sp = str(tmp_path)
    code, out, _ = cli(
        "--space",
        sp,
        "run",
        "plan a trip",
        "--base-url",
        server.base_url,
        "--no-input",
        "--swarm-id",
        "t1",
    )
    assert code == EXIT["questions"]
    assert f"swarm-star --space {tmp_path} answer t1" in out
    code, out, _ = cli("--space", sp, "questions", "t1", "--json")
    [q] = json.loads(out)
    code, out, err = cli("--space", sp, "answer", "t1", "nope-q9", "x")
    assert code == EXIT["usage"] and "no pending question" in err
    code, _, _ = cli("--space", sp, "answer", "t1", q["id"], "in June")
    assert code == 0
    code, out, _ = cli("--space", sp, "questions", "t1")
    assert "no pending questions" in out
    code, out, _ = cli("--space", sp, "resume", "t1", "--json")
    assert code == 0 and json.loads(out)["status"] == "finished"
    code, out, _ = cli("--space", sp, "tree", "t1", "--json")
    asker = next(n for n in json.loads(out)["nodes"] if n["questions"])
    assert asker["questions"][0]["answer"] == "in June"


def test_json_on_a_terminal_never_waits_for_answers(tmp_path: Path, model_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Bug: `run --json` on a terminal blocked silently on a pending question (blank screen)."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    server = model_server(ScriptedModel(plans={"party": "How many guests?", "": ["x"]}))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    started = time.monotonic()
    # --max-time only so that the old behaviour (waiting) fails instead of hanging
    code, out, err = cli(
        "--space", str(tmp_path), "run", "organise a party", "--base-url", server.base_url,
        "--swarm-id", "p1", "--json", "--max-time", "20",
    )  # fmt: skip
    assert code == EXIT["questions"], (out, err)
    data = json.loads(out)
    assert data["status"] == "questions" and data["questions"][0]["text"] == "How many guests?"
    assert time.monotonic() - started < 15


BAD_HOSTFILE = str(Path(__file__).parent / "data" / "bad_hostfile.txt")
BAD_INPUT = [
    ("empty directive", ["run", "   "], "directive is empty"),
    (
        "unreadable context",
        ["run", "x", "--context", "/nonexistent/file.txt"],
        "cannot read context file",
    ),
    ("unknown swarm", ["tree", "no-such-swarm"], "no swarm 'no-such-swarm'"),
    ("invalid swarm id", ["tree", "../etc"], "invalid swarm id"),
    ("invalid limit", ["run", "x", "--max-nodes", "0"], "invalid limit --max-nodes"),
    ("negative cost", ["run", "x", "--max-cost", "-1"], "invalid limit --max-cost"),
    ("unknown command", ["explode"], "invalid choice"),
    ("bad frame", ["history", "s0", "999"], "frame 999 does not exist"),
    ("unknown question", ["answer", "s0", "s0-q9", "yes"], "no pending question 's0-q9'"),
    ("malformed hostfile", ["run", "x", "--hostfile", BAD_HOSTFILE], "bad_hostfile.txt:3: port must be 1-65535"),
    ("missing hostfile", ["run", "x", "--hostfile", "/nonexistent/hosts"], "cannot read hostfile"),
    ("bad candidate count", ["run", "x", "--candidates", "0"], "--candidates must be 1-256"),
    (
        "agents malformed hostfile",
        ["agents", "broadcast", "--hostfile", BAD_HOSTFILE, "-p", "hi"],
        "bad_hostfile.txt:3: port must be 1-65535",
    ),
    ("agents no prompt file", ["agents", "scatter", "--hostfile", BAD_HOSTFILE, "-p", "/nonexistent"], "bad_hostfile"),
]


@pytest.mark.parametrize(("argv", "message"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_one_line_exit_2_no_change(tmp_path: Path, server, argv, message) -> None:  # type: ignore[no-untyped-def]
    sp = str(tmp_path)
    assert (
        cli(
            "--space",
            sp,
            "run",
            "simple seed",
            "--base-url",
            server.base_url,
            "--swarm-id",
            "s0",
            "--json",
        )[0]
        == 0
    )
    db = tmp_path / "s0" / "swarm_default_kv_store.db"
    before = db.read_bytes()
    argv = [a if a != "x" else "x" for a in argv]
    if argv[0] == "run":
        argv = [*argv, "--base-url", server.base_url]
    code, out, err = cli("--space", sp, *argv)
    assert code == EXIT["usage"], (out, err)
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s0"]


def test_no_endpoint_is_one_clear_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = cli("--space", str(tmp_path), "run", "anything")
    assert code == EXIT["usage"]
    assert "OPENAI_API_KEY" in err and "OPENROUTER_API_KEY" in err and "OPENAI_BASE_URL" in err
    assert not any(tmp_path.iterdir())


def test_corrupt_store_is_reported_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    db = tmp_path / "bad" / "swarm_default_kv_store.db"
    db.write_bytes(b"this is not sqlite" * 50)
    code, _, err = cli("--space", str(tmp_path), "tree", "bad")
    assert code == EXIT["failure"] and "corrupt" in err and err.count("\n") == 1
    assert db.read_bytes() == b"this is not sqlite" * 50


def test_locked_store_is_reported(tmp_path: Path, server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sp = str(tmp_path)
    code, out, _ = cli(
        "--space",
        sp,
        "run",
        "plan a trip",
        "--base-url",
        server.base_url,
        "--swarm-id",
        "s0",
        "--json",
        "--no-input",
    )
    assert code == EXIT["questions"]
    [question] = json.loads(out)["questions"]
    db = tmp_path / "s0" / "swarm_default_kv_store.db"
    monkeypatch.setenv("SWARM_STAR_LOCK_TIMEOUT", "0.3")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        code, _, err = cli("--space", sp, "answer", "s0", question["id"], "hello")
        assert code == EXIT["failure"] and "locked by another process" in err and err.count("\n") == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    code, out, _ = cli("--space", sp, "questions", "s0", "--json")
    assert [q["id"] for q in json.loads(out)] == [question["id"]]  # nothing half-recorded


def test_wrong_cosmos_credentials(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COSMOS_ENDPOINT", "https://127.0.0.1:9")
    monkeypatch.setenv("COSMOS_KEY", "not base64 !!")
    code, _, err = cli("--space", str(tmp_path), "--store", "cosmos", "list")
    assert code == EXIT["failure"] and "COSMOS_KEY is not a valid" in err
    monkeypatch.setenv("COSMOS_KEY", "c3dhcm0=")
    code, _, err = cli("--space", str(tmp_path), "--store", "cosmos", "list")
    assert code == EXIT["failure"] and "Cosmos DB" in err and err.count("\n") == 1


def test_help_is_complete() -> None:
    code, out, _ = cli("--help")
    assert code == 0
    for command in (
        "run",
        "resume",
        "questions",
        "answer",
        "tree",
        "history",
        "list",
        "spaces",
        "demo",
        "fanout",
        "agents",
    ):
        assert command in out
        sub_code, sub_out, _ = cli(command, "--help")
        assert sub_code == 0 and "usage: swarm-star" in sub_out


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    code, out, _ = cli("--space", str(tmp_path), "demo")
    assert code == 0
    assert "no API key" in out and "Final report" in out and "asks [" in out
    assert "swarm-star --space" in out and "history" in out
