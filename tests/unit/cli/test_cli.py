"""The swarm-star command through main(argv), plus bad input with documented exit codes."""

from __future__ import annotations

import argparse
import io
import json
import shlex
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from swarm_star.cli import EXIT, main
from swarm_star.errors import InputError
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.cli import cli
from tests.helpers.paths import DATA


@pytest.fixture
def server(model_server, monkeypatch):  # type: ignore[no-untyped-def]
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    script = ScriptedModel(
        plans={"trip": ["book a hotel", "ask the user about dates"], "simple": ["part a", "part b"]},
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
        "outcome",
        "partial",
        "reason",
        "report",
        "questions",
        "usage",
        "usage_by_model",
        "nodes",
        "frames",
    }

    code, out, _ = cli("--space", str(tmp_path), "tree", "s1")
    assert code == 0 and "0 root:root [done]" in out and "router:route_action" in out
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


def test_a_partial_outcome_has_its_own_exit_code_json_and_list_words(tmp_path: Path, model_server) -> None:  # type: ignore[no-untyped-def]
    script = ScriptedModel(
        plans={"trip": ["book the hotel", "book the train", "book the unicorn"]}, routes={"unicorn": None}
    )
    server = model_server(script)
    sp = str(tmp_path)
    code, out, err = cli(
        "--space", sp, "run", "plan a trip", "--base-url", server.base_url, "--json", "--swarm-id", "p1"
    )
    assert code == EXIT["partial"] == 7, err  # finished, but short: scripts can tell
    data = json.loads(out)
    assert data["status"] == "finished" and data["outcome"] == "partial"
    assert data["partial"] == "1 of 3 parts failed"
    code, out, err = cli(
        "--space", sp, "run", "plan a trip", "--base-url", server.base_url, "--swarm-id", "p2", "--no-input"
    )
    assert code == 7 and "Finished, partial: 1 of 3 parts failed" in out
    code, out, _ = cli("--space", sp, "list")
    assert code == 0 and "finished (partial: 1 of 3 parts failed)" in out
    code, out, _ = cli("--space", sp, "list", "--json")
    assert [row["partial"] for row in json.loads(out)] == ["1 of 3 parts failed"] * 2


def test_list_has_a_header_a_stop_reason_and_numeric_order(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    sp = str(tmp_path)
    for swarm_id in ("s10", "s9", "s2"):
        code, _, err = cli("--space", sp, "run", "simple job", "--base-url", server.base_url, "--json",
                           "--swarm-id", swarm_id, "--max-calls", "2")  # fmt: skip
        assert code == EXIT["limit"], err
    code, out, _ = cli("--space", sp, "list")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "AGE", "COST", "DIRECTIVE"]
    assert [line.split()[0] for line in lines[1:]] == ["s2", "s9", "s10"]
    assert all("stopped (limit reached: max_calls" in line for line in lines[1:]), out


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


BAD_HOSTFILE = str(DATA / "bad_hostfile.txt")
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


@pytest.mark.parametrize(
    "line", ["a" * 64 + ":8000", "http://" + "b" * 70 + "/v1", "c" * (10 * 1024 * 1024)], ids=["label", "url", "10MB"]
)
def test_hostfile_names_beyond_dns_limits_are_one_line_errors(tmp_path: Path, line: str) -> None:
    """Issue 19 item 12: a 64-character label (or a 10 MB line) passed the parser, and the first request
    died in the resolver with an 83-line ``idna`` traceback (exit 1)."""
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"# agents\n127.0.0.1:9 role=a\n{line}\n")
    for argv in (
        ["agents", "broadcast", "--hostfile", str(hosts), "-p", "hi", "--timeout", "2", "--retries", "0"],
        ["run", "x", "--hostfile", str(hosts), "--base-url", "http://127.0.0.1:9/v1"],
    ):
        started = time.monotonic()
        code, out, err = cli("--space", str(tmp_path / "space"), *argv)
        assert code == EXIT["usage"], (argv[0], code, err[-300:])
        assert err.startswith(f"swarm-star: error: {hosts}:3: ") and err.count("\n") == 1 and len(err) < 300, err[-300:]
        assert "Traceback" not in err and "idna" not in err and out == ""
        assert time.monotonic() - started < 10
    assert not (tmp_path / "space").exists() or not any((tmp_path / "space").iterdir())


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


def _seed(tmp_path: Path, server, swarm_id: str = "s1", directive: str = "simple job", *extra: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "--space", str(tmp_path), "run", directive, "--base-url", server.base_url, "--swarm-id", swarm_id,
        "--json", *extra,
    )  # fmt: skip
    assert code in (0, 1, 3, 4), (out, err)


def test_resume_never_reopens_a_finished_or_failed_swarm(tmp_path: Path, server, model_server) -> None:  # type: ignore[no-untyped-def]
    """Bug: `resume ID --max-calls 3000` on a finished swarm failed it ("nothing runnable")
    and left it `stopped` for good."""
    sp = str(tmp_path)
    _seed(tmp_path, server)
    for _ in range(2):
        code, out, err = cli("--space", sp, "resume", "s1", "--max-calls", "3000")
        assert code == 0 and "already finished; nothing to resume" in out, (out, err)
    code, out, _ = cli("--space", sp, "list", "--json")
    assert json.loads(out)[0]["status"] == "finished"
    code, out, _ = cli("--space", sp, "resume", "s1", "--json")
    assert code == 0
    from swarm_star.api import RunOptions, Swarm
    from swarm_star.models import ResumeSwarm, StopSwarm, SwarmEvent

    with Swarm.open("s1", space=sp) as swarm:
        again = swarm.run_sync(RunOptions(limits=swarm.state.limits))  # the API does not re-open it either
        assert again.status == "finished" and swarm.tree().status == "finished"
        state = swarm.tree()  # what an older `resume --max-calls` left behind: a resume, then a stop
        events = []
        for op in (ResumeSwarm(limits=state.limits), StopSwarm(reason="nothing runnable")):
            events.append(SwarmEvent(frame=state.frame_count, time=time.time(), op=op, nodes=[]))
            state.apply(events[-1])
        swarm.log.append(events, state, [])
        assert swarm.tree().status == "stopped"
    code, out, err = cli("--space", sp, "resume", "s1")
    assert code == 0 and "nothing to resume" in out, (out, err)
    broken = model_server(lambda request: "not json at all")
    code, out, _ = cli("--space", sp, "run", "anything", "--base-url", broken.base_url, "--swarm-id", "f1", "--json")
    assert code == EXIT["failure"] and json.loads(out)["status"] == "failed"
    code, out, err = cli("--space", sp, "resume", "f1", "--max-calls", "3000")
    assert code == EXIT["failure"] and "retry" in err and err.count("\n") == 1
    code, out, _ = cli("--space", sp, "tree", "f1", "--json")
    assert json.loads(out)["status"] == "failed"


def _pasted(line: str) -> list[str]:
    """A printed hint as the argv main() gets (the program name dropped)."""
    argv = shlex.split(line.strip())
    assert argv[0] == "swarm-star", line
    return argv[1:]


def test_printed_hints_work_when_pasted(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """Bug: hints dropped --space/--store/--user, and a limit hint said `--max-...` literally."""
    sp = str(tmp_path / "my space")
    code, out, _ = cli("--space", sp, "run", "plan a trip", "--base-url", server.base_url, "--no-input")
    assert code == EXIT["questions"]
    answer = next(line for line in out.splitlines() if line.startswith("Answer with:")).split(":", 1)[1]
    resume = next(line for line in out.splitlines() if line.startswith("then:")).split(":", 1)[1]
    swarm_id = _pasted(resume)[-1]
    code, qs, _ = cli("--space", sp, "questions", swarm_id, "--json")
    assert json.loads(qs)[0]["id"] in answer.split()  # one question pending: the hint names it, not QUESTION_ID
    code, listed, _ = cli("--space", sp, "questions", swarm_id)
    assert "QUESTION_ID" not in listed and json.loads(qs)[0]["id"] in listed.splitlines()[-1]
    argv = ["June" if a == "TEXT" else a for a in _pasted(answer)]
    code, said, err = cli(*argv)
    assert code == 0, err
    code, out, err = cli(*_pasted(said.split("otherwise:", 1)[1]), "--json")
    assert code == 0 and json.loads(out)["status"] == "finished", err

    code, out, _ = cli("--space", sp, "run", "simple job", "--base-url", server.base_url, "--max-calls", "2")
    assert code == EXIT["limit"]
    hint = next(line for line in out.splitlines() if " resume " in line)
    assert "--max-..." not in hint and "--max-calls 4" in hint, out
    code, out, err = cli(*_pasted(hint), "--json")
    assert code in (0, 4) and json.loads(out)["usage"]["calls"] > 2, err


def test_limit_hint_raises_above_what_is_already_used(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """Bug: the hint doubled the limit given, not what was used: after `resume --max-calls 2`
    on a swarm that had made 4 calls it said `--max-calls 4`, which stopped again at once."""
    sp = str(tmp_path)
    # (a one-part swarm makes 3 calls since issue 25: plan, answer, review)
    code, out, _ = cli("--space", sp, "run", "simple job", "--base-url", server.base_url, "--max-calls", "2")
    assert code == EXIT["limit"]
    swarm_id = next(line for line in out.splitlines() if " resume " in line).split()[-3]
    code, out, _ = cli("--space", sp, "resume", swarm_id, "--max-calls", "1", "--json")
    used = json.loads(out)["usage"]["calls"]
    assert code == EXIT["limit"] and used >= 2
    code, out, _ = cli("--space", sp, "resume", swarm_id, "--max-calls", "1")
    hint = next(line for line in out.splitlines() if " resume " in line)
    assert int(hint.split("--max-calls", 1)[1].split()[0]) > used, hint
    code, out, err = cli(*_pasted(hint), "--json")
    assert json.loads(out)["usage"]["calls"] > used, err  # the pasted hint makes progress


def test_resume_hints_repeat_the_run_only_model_flags(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """Bug: `resume --base-url URL` (this run only) printed `then: swarm-star resume ID`,
    which, pasted, went back to the stored endpoint (dead: that is why URL was given)."""
    sp = str(tmp_path)
    code, out, _ = cli("--space", sp, "run", "plan a trip", "--base-url", server.base_url, "--no-input")
    assert code == EXIT["questions"]
    swarm_id = _pasted(next(line for line in out.splitlines() if line.startswith("then:")).split(":", 1)[1])[-1]
    code, out, _ = cli("--space", sp, "resume", swarm_id, "--base-url", server.base_url, "--model", "m2", "--no-input")
    assert code == EXIT["questions"]
    hint = _pasted(next(line for line in out.splitlines() if line.startswith("then:")).split(":", 1)[1])
    assert hint[-5:] == [swarm_id, "--model", "m2", "--base-url", server.base_url], hint


def test_hint_prefix_carries_store_user_and_the_path_that_works(tmp_path: Path, monkeypatch) -> None:
    from swarm_star.cli.hints import command_prefix

    args = argparse.Namespace(space=str(tmp_path), store="cosmos", user="ann")
    assert command_prefix(args) == f"swarm-star --space {tmp_path} --store cosmos --user ann"
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    exe = bin_dir / "swarm-star"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(exe), "run", "x"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not activated
    assert command_prefix(argparse.Namespace()) == str(exe)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin")  # it is
    assert command_prefix(argparse.Namespace()) == "swarm-star"


def test_global_flags_after_the_command(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """Bug: `swarm-star list --space DIR` was "unrecognized arguments"."""
    _seed(tmp_path, server)
    code, out, err = cli("list", "--space", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)[0]["swarm_id"] == "s1", err
    code, out, err = cli("tree", "s1", "--space", str(tmp_path), "--store", "sqlite", "--user", "local")
    assert code == 0 and "root:root" in out, err
    code, out, err = cli("--space", "/nonexistent", "history", "s1", "--space", str(tmp_path))
    assert code == 0 and "spawn" in out, err  # the one nearer the end wins
    code, out, err = cli("--space", str(tmp_path), "list", "--json")  # before still works, not overwritten
    assert code == 0 and json.loads(out), err
    code, _, err = cli("fanout", "--resynthesize", "/nonexistent.json")
    assert code == EXIT["usage"] and "cannot read candidates" in err
    with pytest.raises(InputError):  # --verbose after the command: the traceback, as before it
        cli("fanout", "--resynthesize", "/nonexistent.json", "--verbose")


def test_closed_output_stream_is_a_quiet_exit(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    _seed(tmp_path, server)

    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    err = io.StringIO()
    assert main(["--space", str(tmp_path), "history", "s1"], out=Closed(), err=err) == 0
    assert err.getvalue() == ""


def test_space_that_is_a_file_is_one_line(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """Bug: `--space FILE` gave a NotADirectoryError traceback."""
    file = tmp_path / "a-file"
    file.write_text("x")
    for argv in (["run", "x", "--base-url", server.base_url], ["list"]):
        code, _, err = cli("--space", str(file), *argv)
        assert code == EXIT["usage"] and "is a file, not a folder" in err and err.count("\n") == 1, err
    assert file.read_text() == "x"


def test_directive_from_stdin_and_from_a_file(tmp_path: Path, server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Bug: `run -` took "-" literally; a long directive had no way in but the command line."""
    sp = str(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"simple job from stdin\n")))
    code, out, err = cli("--space", sp, "run", "-", "--base-url", server.base_url, "--swarm-id", "d1", "--json")
    assert code == 0, err
    long_text = "simple job " + "with many words " * 12_000  # ~190 KB: past the command-line limit
    path = tmp_path / "directive.txt"
    path.write_text(long_text)
    code, out, err = cli(
        "--space", sp, "run", "--directive-file", str(path), "--base-url", server.base_url, "--swarm-id", "d2",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    for swarm_id, expected in (("d1", "simple job from stdin"), ("d2", long_text.strip())):
        code, out, _ = cli("--space", sp, "tree", swarm_id, "--json")
        root = next(n for n in json.loads(out)["nodes"] if n["id"] == "0")
        assert root["directive"] == expected
    code, _, err = cli("--space", sp, "run", "both", "--directive-file", str(path), "--base-url", server.base_url)
    assert code == EXIT["usage"] and "not both" in err
    code, _, err = cli("--space", sp, "run", "--base-url", server.base_url)
    assert code == EXIT["usage"] and "run -" in err


def test_history_of_unknown_node_and_tree_fitting(tmp_path: Path, server, model_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Bug: `history --node 9.9.9` printed nothing with exit 0; `tree` hid errors and wrapped lines."""
    sp = str(tmp_path)
    _seed(tmp_path, server, "s1", "simple job " + "that is described at great length " * 5)
    code, out, err = cli("--space", sp, "history", "s1", "--node", "9.9.9")
    assert code == EXIT["usage"] and "no node '9.9.9'" in err and out == ""
    monkeypatch.setenv("COLUMNS", "72")
    code, out, _ = cli("--space", sp, "tree", "s1")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 72, out
    assert "└─" in out and "…" in out
    code, out, _ = cli("--space", sp, "tree", "s1", "--depth", "0")
    lines = out.splitlines()
    assert len(lines) == 2 and "more below" in lines[1], out
    code, _, err = cli("--space", sp, "tree", "s1", "--depth", "-1")
    assert code == EXIT["usage"]
    broken = model_server(lambda request: "not json at all")
    cli("--space", sp, "run", "anything", "--base-url", broken.base_url, "--swarm-id", "f1", "--json")
    code, out, _ = cli("--space", sp, "tree", "f1")
    assert "[failed: " in out and "no usable plan" in out, out


def test_every_argument_has_help_and_limits_show_defaults() -> None:
    from swarm_star.cli import build_parser

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction):
                assert action.help, f"{path}: {action.dest} has no help"

    walk(build_parser(), "swarm-star")
    code, out, _ = cli("run", "--help")
    assert "--max-total-tokens N" in out and "(default 1000)" in out and "--node-concurrency" in out
    assert "--max-tokens" not in out  # the old spelling still works, but is not advertised
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("swarm-star ")


def test_old_flag_spellings_still_work(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    sp = str(tmp_path)
    code, _, err = cli(
        "--space", sp, "run", "simple job", "--base-url", server.base_url, "--max-tokens", "123456",
        "--concurrency", "3", "--json", "--swarm-id", "o1",
    )  # fmt: skip
    assert code == 0, err
    from swarm_star.api import Swarm

    with Swarm.open("o1", space=sp) as swarm:
        limits = swarm.settings.limits
    assert limits.max_tokens == 123456 and limits.concurrency == 3
    code, _, err = cli("--space", sp, "run", "x", "--base-url", server.base_url, "--max-total-tokens", "0")
    assert code == EXIT["usage"] and "invalid limit --max-total-tokens" in err


def test_resume_takes_model_flags(tmp_path: Path, server, model_server) -> None:  # type: ignore[no-untyped-def]
    sp = str(tmp_path)
    code, _, _ = cli(
        "--space", sp, "run", "plan a trip", "--base-url", server.base_url, "--no-input", "--swarm-id", "m1"
    )  # fmt: skip
    assert code == EXIT["questions"]
    other = model_server(ScriptedModel(plans={"trip": ["book a hotel", "ask the user about dates"]}))
    code, qs, _ = cli("--space", sp, "questions", "m1", "--json")
    cli("--space", sp, "answer", "m1", json.loads(qs)[0]["id"], "June")
    before = server.requests
    code, _, err = cli(
        "--space", sp, "resume", "m1", "--base-url", other.base_url, "--model", "other-model", "--json"
    )  # fmt: skip
    assert code == 0, err
    assert other.requests > 0 and server.requests == before


def test_a_verdict_without_reasons_reads_cleanly() -> None:
    """Bug: a passing verdict with no reasons showed as 'first passed: ' in history and the live log."""
    from swarm_star.models.frame import SwarmEvent
    from swarm_star.models.operations import Verdict
    from swarm_star.render.text import summary

    passed = SwarmEvent(frame=1, time=0.0, op=Verdict(node_id="0.0", stage="first", ok=True))
    assert summary(passed) == "first passed"
    failed = SwarmEvent(frame=2, time=0.0, op=Verdict(node_id="0.0", stage="repair", ok=False, reasons=["no tests"]))
    assert summary(failed) == "repair failed: no tests"
