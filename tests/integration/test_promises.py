"""Crash and concurrency: the one-writer promise and the Cosmos journal, on SQLite and Cosmos DB.

Everything is real: the SQLite store on temp files, the Cosmos-compatible
server, the openai SDK against a local scripted model server, and (for the
kills) the ``swarm-star`` command in subprocesses killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from swarm_star.api import RunOptions, Swarm
from swarm_star.errors import AlreadyRunning, LeaseLost
from swarm_star.models import ModelSettings, SwarmSettings
from swarm_star.state.history import SwarmLog
from swarm_star.state.lease import OWNER_KEY, OwnerLease, owner_status
from swarm_star.store import KVStore
from swarm_star.store.base import Delete, Put
from swarm_star.store.identity import machine_identity
from swarm_star.testing.scripted import ScriptedModel
from tests.helpers.model import client_for
from tests.integration.test_cli_processes import _env


def _space_env(backend: str, request: pytest.FixtureRequest, **extra: str) -> dict[str, str]:
    env = dict(request.getfixturevalue("cosmos_env")) if backend == "cosmos" else {}
    env.update(extra)
    return env


async def _run(swarm: Swarm, server: Any, **kw: Any) -> Any:
    llm = client_for(server)
    try:
        return await swarm.run(RunOptions(llm=llm, **kw))
    finally:
        await llm.aclose()


def _consistent(store: KVStore) -> list[tuple[str, str]]:
    """Frames contiguous, meta and node records equal to a replay; returns the call keys."""
    log = SwarmLog(store)
    frames = list(log.frames())
    assert [f.frame for f in frames] == list(range(len(frames)))
    meta = log.read_meta()
    assert meta is not None and meta["frame_count"] == len(frames)
    assert log.nodes() == log.replay().nodes
    return [(f.op.node_id, f.op.call_key) for f in frames if f.op.kind == "llm_call"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def _until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


# Item 1: the lease fences the writer.


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
async def test_a_call_longer_than_the_lease_keeps_the_lease(
    backend: str, tmp_path: Path, model_server: Any, request: pytest.FixtureRequest
) -> None:
    """A 2 s lease, a 5 s model call: the lease is renewed meanwhile, so a second run is refused."""
    env = _space_env(backend, request, SWARM_STAR_LEASE_SECONDS="2")
    server = model_server(ScriptedModel(plans={"lease": ["part one"]}), latency=5.0)
    swarm = Swarm.create("lease test", space=tmp_path, backend=backend, env=env)
    first = asyncio.create_task(_run(swarm, server, env=env))
    await _until(lambda: server.requests >= 1)
    server.latency = 0
    await asyncio.sleep(3.0)  # longer than the lease, still inside the first call
    assert owner_status(swarm.store).alive
    other = Swarm.open(swarm.id, space=tmp_path, backend=backend, env=env)
    with pytest.raises(AlreadyRunning, match="being run by another process"):
        await _run(other, server, env=env)
    outcome = await first
    assert outcome.status == "finished", outcome
    keys = _consistent(swarm.store)
    assert len(keys) == len(set(keys)) == server.requests
    assert not owner_status(swarm.store).alive  # released at the end
    other.close()
    swarm.close()


async def test_a_writer_that_lost_the_lease_writes_nothing_more(
    backend: str, tmp_path: Path, model_server: Any, request: pytest.FixtureRequest
) -> None:
    """Another process takes the lease over (as it may once a frozen writer's lease
    expired): the old writer's next commit is refused whole, not one more batch."""
    env = _space_env(backend, request)
    server = model_server(ScriptedModel(plans={"fence": ["part one", "part two"]}), latency=1.5)
    swarm = Swarm.create("fence test", space=tmp_path, backend=backend, env=env)
    first = asyncio.create_task(_run(swarm, server, env=env))
    await _until(lambda: server.requests >= 1)
    thief = Swarm.open(swarm.id, space=tmp_path, backend=backend, env=env)
    thief.store.put(OWNER_KEY, {"token": "thief", "pid": 1, "host": "elsewhere", "expires": time.time() + 60})
    frames = len(list(thief.log.frames()))
    server.latency = 0
    with pytest.raises(LeaseLost, match="lost the swarm's owner lease"):
        await first
    assert len(list(thief.log.frames())) == frames
    assert thief.store.get(OWNER_KEY)["token"] == "thief"
    thief.close()
    swarm.close()


def test_a_holder_in_another_pid_namespace_is_not_judged_by_its_pid(store: KVStore) -> None:
    """Same host name, another container: its pid means nothing here, only expiry frees it."""
    here = machine_identity()
    held = {"token": "t", "pid": _dead_pid(), "started": "1", **here, "expires": time.time() + 60}
    store.put(OWNER_KEY, {**held, "pidns": "pid:[4026599999]"})
    with pytest.raises(AlreadyRunning, match="being run by another process"):
        OwnerLease(store).acquire()
    assert owner_status(store).alive
    store.put(OWNER_KEY, {**held, "boot": "another-boot"})
    with pytest.raises(AlreadyRunning):
        OwnerLease(store).acquire()
    # Same host, boot and namespace, pid gone: free at once (resume right after kill -9).
    store.put(OWNER_KEY, held)
    assert not owner_status(store).alive
    lease = OwnerLease(store, seconds=5)
    lease.acquire()
    assert store.get(OWNER_KEY)["token"] == lease.token
    lease.release()
    # Expired: free whoever held it.
    store.put(OWNER_KEY, {**held, "pidns": "pid:[4026599999]", "expires": time.time() - 1})
    lease = OwnerLease(store, seconds=5)
    lease.acquire()
    lease.release()


# Item 2: take the lease first, then load the state.


@pytest.mark.slow  # seconds each: run by .ci/run and `-m slow`
async def test_a_run_loads_its_state_only_after_taking_the_lease(
    backend: str, tmp_path: Path, model_server: Any, request: pytest.FixtureRequest
) -> None:
    """B is about to run; A runs the whole swarm in between. B must not run from the
    state it had before A: either A is refused (B holds the lease) or B sees A's frames."""
    env = _space_env(backend, request)
    server = model_server(ScriptedModel(plans={"race": ["left", "right"]}))
    created = Swarm.create("race test", space=tmp_path, backend=backend, env=env)
    a = Swarm.open(created.id, space=tmp_path, backend=backend, env=env)
    b = Swarm.open(created.id, space=tmp_path, backend=backend, env=env)
    results: list[Any] = []

    def a_runs_in_between() -> None:
        def go() -> None:
            try:
                results.append(asyncio.run(_run(a, server, env=env)))
            except Exception as exc:
                results.append(exc)

        thread = threading.Thread(target=go)
        thread.start()
        thread.join(120)

    llm = client_for(server)
    try:
        handle = b.run(RunOptions(llm=llm, env=env))  # B holds the lease; it has read nothing yet
        a_runs_in_between()
        outcome = await handle
    finally:
        await llm.aclose()
    assert outcome.status == "finished"
    assert isinstance(results[0], AlreadyRunning), results
    keys = _consistent(b.store)
    assert len(keys) == len(set(keys)) == server.requests  # no call paid twice
    for s in (a, b, created):
        s.close()


def _cli(space: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    # the crash hook lives in the tests: a run that sets it runs the CLI through the helper that installs it
    module = "tests.helpers.kill_journal" if "SWARM_STAR_TEST_KILL_JOURNAL" in env else "swarm_star"
    return subprocess.Popen(
        [sys.executable, "-m", module, "--space", str(space), *args],
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    """Wait for a command, reading its output (a full pipe would block it)."""
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _cli_json(space: Path, env: dict[str, str], *args: str) -> Any:
    proc = _cli(space, env, *args, "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)


@pytest.mark.slow
def test_two_resumes_started_together(
    backend: str, tmp_path: Path, model_server: Any, request: pytest.FixtureRequest
) -> None:
    """Two ``resume`` processes at the same instant: one runs, the other says who holds it."""
    store_args = ["--store", backend] if backend == "cosmos" else []
    # A 2 s lease: the loser waits at most one lease for it (item 15), the run lasts longer.
    env = _space_env(backend, request, SWARM_STAR_LEASE_SECONDS="2")
    server = model_server(ScriptedModel(plans={"twin": ["part a", "part b", "part c"]}), latency=0.6)
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    swarm_id = Swarm.create("twin test", space=tmp_path, backend=backend, env=env, settings=settings).id
    args = [*store_args, "resume", swarm_id, "--no-input"]
    procs = [_cli(tmp_path, env, *args) for _ in range(2)]
    results = [_finish(p) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 6], results  # 6: another process runs this swarm
    loser = next(err for code, err in results if code == 6)
    assert "being run by another process" in loser and "Traceback" not in loser
    frames = _cli_json(tmp_path, env, *store_args, "history", swarm_id)
    assert [f["frame"] for f in frames] == list(range(len(frames)))
    keys = [(f["op"]["node_id"], f["op"]["call_key"]) for f in frames if f["op"]["kind"] == "llm_call"]
    assert len(keys) == len(set(keys)) == server.requests


# Issue 19 item 15: a swarm another process holds.


def _swarm_for(server: Any, backend: str, tmp_path: Path, env: dict[str, str], directive: str) -> str:
    settings = SwarmSettings(models=ModelSettings(base_url=server.base_url))
    with Swarm.create(directive, space=tmp_path, backend=backend, env=env, settings=settings) as swarm:
        return swarm.id


def _until_requests(server: Any, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while server.requests < count:
        assert proc.poll() is None and time.monotonic() < deadline, "the owner never called the model"
        time.sleep(0.02)


@pytest.mark.slow  # seconds each: a lease is waited out
def test_resume_waits_out_a_silent_owners_lease_and_the_old_owner_exits_6(
    backend: str, tmp_path: Path, model_server: Any, request: pytest.FixtureRequest
) -> None:
    """The owner went silent (SIGSTOP: to this machine its pid lives, but it renews
    nothing) with its lease still valid. `resume` says it waits for that lease, takes the
    swarm over once it expires and finishes it (it used to refuse at once, exit 2).
    Continued, the old owner stops with "lost the swarm's owner lease", exit 6 (it was 2,
    a usage error)."""
    store_args = ["--store", backend] if backend == "cosmos" else []
    # An 8 s lease: still valid when the second process has started (2-3 s on Cosmos).
    env = _space_env(backend, request, SWARM_STAR_LEASE_SECONDS="8")
    server = model_server(ScriptedModel(plans={"relay": ["leg one", "leg two"]}), latency=5.0)
    swarm_id = _swarm_for(server, backend, tmp_path, env, "relay test")
    owner = _cli(tmp_path, env, *store_args, "resume", swarm_id, "--no-input")
    try:
        _until_requests(server, 1, owner)  # the owner waits for its first reply
        owner.send_signal(signal.SIGSTOP)
        server.latency = 0
        code, err = _finish(_cli(tmp_path, env, *store_args, "resume", swarm_id, "--no-input"), timeout=180)
        assert code == 0, err
        assert "waiting up to" in err and "for the previous owner's lease to expire" in err, err
    finally:
        owner.send_signal(signal.SIGCONT)
    code, err = _finish(owner)
    assert code == 6 and "lost the swarm's owner lease" in err and "Traceback" not in err, (code, err)
    frames = _cli_json(tmp_path, env, *store_args, "history", swarm_id)
    assert [f["frame"] for f in frames] == list(range(len(frames)))
    assert frames[-1]["op"]["kind"] == "terminate" and frames[-1]["op"]["node_id"] == "0"


@pytest.mark.slow  # seconds each: a lease is waited for
def test_resume_of_a_swarm_being_run_waits_one_lease_then_refuses_with_6(
    backend: str, tmp_path: Path, model_server: Any, request: pytest.FixtureRequest
) -> None:
    """The owner is alive and renewing: `resume` waits up to one lease (saying so), then
    refuses in one line with exit 6, and the owner's run is untouched."""
    store_args = ["--store", backend] if backend == "cosmos" else []
    env = _space_env(backend, request, SWARM_STAR_LEASE_SECONDS="2")
    server = model_server(ScriptedModel(plans={"busy": ["part one"]}), latency=8.0)
    swarm_id = _swarm_for(server, backend, tmp_path, env, "busy test")
    owner = _cli(tmp_path, env, *store_args, "resume", swarm_id, "--no-input")
    try:
        _until_requests(server, 1, owner)
        started = time.monotonic()
        code, err = _finish(_cli(tmp_path, env, *store_args, "resume", swarm_id, "--no-input"))
        waited = time.monotonic() - started
    finally:
        server.latency = 0
    assert code == 6, err
    assert "waiting up to" in err and "being run by another process" in err and "Traceback" not in err, err
    assert 1.2 < waited < 20, waited  # a renewed lease has over 1.3 s left: the wait is at least that
    code, err = _finish(owner)
    assert code == 0, err


# Item 3 and 14: the Cosmos journal.


def test_cosmos_reader_sees_a_committed_journal_whole(cosmos_container: Any) -> None:
    """A writer applied 2 of 9 operations of a committed batch and died: every reader
    sees the batch whole; a pending (uncommitted) journal is invisible."""
    from swarm_star.store.cosmos import CosmosStore

    swarm = f"s-{uuid.uuid4().hex[:12]}"
    writer = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm)
    writer.commit([Put(f"a_{i}", f"old{i}") for i in range(8)] + [Put("a_gone", 1)])
    ops = [*(Put(f"a_{i}", f"new{i}") for i in range(8)), Delete("a_gone")]
    payload = [{"key": op.key, "value": op.value} if isinstance(op, Put) else {"key": op.key} for op in ops]
    writer._acquire_journal(payload, "committed")
    for op in ops[:2]:
        writer._apply(op)  # the writer dies here
    reader = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm)
    assert dict(reader.scan("a_")) == {f"a_{i}": f"new{i}" for i in range(8)}
    assert reader.get("a_5") == "new5" and reader.get("a_gone") is None

    other = f"s-{uuid.uuid4().hex[:12]}"
    pending = CosmosStore(container=cosmos_container, user_id="test", swarm_id=other)
    pending.put("b_1", "old")
    pending._acquire_journal([{"key": "b_1", "value": "new"}], "pending")
    assert CosmosStore(container=cosmos_container, user_id="test", swarm_id=other).get("b_1") == "old"


def test_cosmos_dead_writers_journal_is_taken_over_at_once(cosmos_env: dict[str, str]) -> None:
    """SIGKILL inside a roll-forward (after 2 of 6 operations): the next writer on this
    machine sees the holder is gone and finishes the batch without waiting for expiry."""
    from swarm_star.store.cosmos import CosmosSettings, CosmosStore, open_cosmos_container

    swarm = f"s-{uuid.uuid4().hex[:12]}"
    code = (
        "import sys; from swarm_star.store.cosmos import *; from swarm_star.store.base import Put;"
        "from tests.helpers.kill_journal import install; install();"
        "s = CosmosStore(open_cosmos_container(CosmosSettings()), user_id='test', swarm_id=sys.argv[1]);"
        "s.commit([Put(f'k_{i}', i) for i in range(6)])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, swarm],
        env=_env(**cosmos_env, SWARM_STAR_TEST_KILL_JOURNAL="1:2"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr
    store = CosmosStore(open_cosmos_container(CosmosSettings(cosmos_env)), user_id="test", swarm_id=swarm)
    assert dict(store.scan("k_")) == {f"k_{i}": i for i in range(6)}  # read through the journal
    started = time.monotonic()
    store.commit([Put("k_0", "after"), Put("k_9", 9)])
    assert time.monotonic() - started < 5  # not the 10-15 s journal lease
    assert store._read_item(store._id("__journal")) is None
    assert dict(store.scan("k_")) == {"k_0": "after", **{f"k_{i}": i for i in range(1, 6)}, "k_9": 9}


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["3:2", "5:1", "7:3"])
def test_cosmos_kill_mid_roll_forward_then_resume_at_once(
    tmp_path: Path, model_server: Any, cosmos_env: dict[str, str], kill_at: str
) -> None:
    """Kill the writer after k of n journal operations, resume immediately: the
    swarm finishes with the same tree as an uninterrupted run, nothing torn."""
    script = ScriptedModel(plans={"city": ["north", "south", "east"]})
    server = model_server(script)
    base = ["--base-url", server.base_url, "--no-input"]
    clean_id, killed_id = f"c-{uuid.uuid4().hex[:8]}", f"k-{uuid.uuid4().hex[:8]}"
    clean = _cli(tmp_path, cosmos_env, "--store", "cosmos", "run", "plan a city", "--swarm-id", clean_id, *base)
    code, err = _finish(clean)
    assert code == 0, err
    clean_calls = server.requests

    proc = _cli(
        tmp_path,
        {**cosmos_env, "SWARM_STAR_TEST_KILL_JOURNAL": kill_at},
        "--store",
        "cosmos",
        "run",
        "plan a city",
        "--swarm-id",
        killed_id,
        *base,
    )
    code, err = _finish(proc)
    assert code == -9, err
    before = server.requests
    started = time.monotonic()
    resumed = _cli(tmp_path, cosmos_env, "--store", "cosmos", "resume", killed_id, "--no-input")
    code, err = _finish(resumed)
    assert code == 0, err
    assert time.monotonic() - started < 60

    def signature(swarm_id: str) -> dict[str, Any]:
        tree = _cli_json(tmp_path, cosmos_env, "--store", "cosmos", "tree", swarm_id)
        return {n["id"]: (n["action_id"], n["directive"], n["status"], n["report"]) for n in tree["nodes"]}

    assert signature(killed_id) == signature(clean_id)
    from swarm_star.store.cosmos import CosmosSettings, CosmosStore, open_cosmos_container

    store = CosmosStore(open_cosmos_container(CosmosSettings(cosmos_env)), user_id="local", swarm_id=killed_id)
    keys = _consistent(store)
    assert len(keys) == len(set(keys)) == clean_calls
    assert server.requests - before <= clean_calls


def test_cosmos_journal_of_a_silent_writer_elsewhere_is_waited_for_then_taken_over(
    cosmos_container: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 14: the holder may be alive on another machine, so its journal is waited for
    until it expires (bounded, with one message), then rolled forward; never 'busy'."""
    from swarm_star.store.cosmos import CosmosStore

    swarm = f"s-{uuid.uuid4().hex[:12]}"
    first = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm, lease_seconds=3, lock_timeout=1)
    first.put("k_1", "old")
    journal = first._acquire_journal([{"key": "k_1", "value": "new"}], "committed")
    journal["holder"] = {"pid": 4242, "host": "another-machine", "boot": "b", "pidns": "p"}
    cosmos_container.replace_item(journal["id"], journal)
    second = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm, lease_seconds=3, lock_timeout=1)
    assert second.get("k_1") == "new"  # read through, before any takeover
    journal["time"] = time.time()  # the 3 s lease starts now, whatever the steps above took on a loaded machine
    cosmos_container.replace_item(journal["id"], journal)
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="swarm_star.store"):
        second.commit([Put("k_2", 2), Put("k_3", 3)])
    waited = time.monotonic() - started
    assert 1.5 < waited < 60  # waited for the 3 s journal to expire, not failed after the 1 s lock timeout
    assert any("waiting up to" in r.getMessage() and "another-machine" in r.getMessage() for r in caplog.records)
    assert dict(second.scan("k_")) == {"k_1": "new", "k_2": 2, "k_3": 3}


def test_cosmos_a_journal_is_taken_over_by_one_process_only(cosmos_container: Any) -> None:
    """Two processes see the same dead writer's journal. One claims it, rolls it forward
    and writes its next batch; the other, late, must not re-apply the old journal."""
    from swarm_star.store.cosmos import CosmosStore

    swarm = f"s-{uuid.uuid4().hex[:12]}"
    dead = {"pid": _dead_pid(), "started": "1", **machine_identity()}
    fast = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm)
    slow = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm)
    journal = fast._acquire_journal([{"key": "x_meta", "value": "old batch"}], "committed")
    journal["holder"] = dead
    seen_by_both = cosmos_container.replace_item(journal["id"], journal)
    assert fast._take_over(dict(seen_by_both))
    fast.commit([Put("x_meta", "next batch"), Put("x_more", 1)])
    assert slow._take_over(dict(seen_by_both))  # its claim fails: nothing re-applied
    assert fast.get("x_meta") == "next batch"


def _stopped(pid: int) -> bool:
    """Has process ``pid`` been stopped by a signal (state ``T`` in /proc)?"""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] in "Tt"


@pytest.mark.slow  # about 40 s: the frozen writer's journal is taken over only after 15 s
@pytest.mark.parametrize("freeze_at", ["3:0:STOP", "3:1:STOP"])
def test_cosmos_writer_frozen_after_its_commit_point_cannot_overwrite_the_new_owner(
    tmp_path: Path, model_server: Any, cosmos_env: dict[str, str], freeze_at: str
) -> None:
    """Issue 19 item 3. Writer A is frozen (SIGSTOP) inside the roll-forward of its first
    engine batch, after the commit point (before any, or after one, of its operations is
    applied). Its lease expires; B takes the swarm over (rolling A's journal forward) and
    finishes it. Continued, A must not write anything: before the fix its stale upserts
    of the node records and ``swarm_state_meta`` landed after B's, and the finished swarm
    read as `running` at frame 2."""
    from swarm_star.store.cosmos import CosmosSettings, CosmosStore, open_cosmos_container

    server = model_server(ScriptedModel(plans={"city": ["north", "south", "east"]}))
    swarm_id = f"f-{uuid.uuid4().hex[:8]}"
    frozen = _cli(
        tmp_path,
        # A 15 s lease: no renewal (a journal of its own) comes before the third journal,
        # and B waits no longer than for A's journal, which is taken over after 15 s.
        {**cosmos_env, "SWARM_STAR_LEASE_SECONDS": "15", "SWARM_STAR_TEST_KILL_JOURNAL": freeze_at},
        *("--store", "cosmos", "run", "plan a city", "--swarm-id", swarm_id),
        *("--base-url", server.base_url, "--no-input"),
    )
    try:
        deadline = time.monotonic() + 60
        while not _stopped(frozen.pid):
            assert frozen.poll() is None and time.monotonic() < deadline, "the writer never froze"
            time.sleep(0.05)
        store = CosmosStore(open_cosmos_container(CosmosSettings(cosmos_env)), user_id="local", swarm_id=swarm_id)
        while owner_status(store).alive:  # A's lease lapses (it cannot renew while frozen)
            assert time.monotonic() < deadline
            time.sleep(0.2)
        resumed = _cli(tmp_path, cosmos_env, "--store", "cosmos", "resume", swarm_id, "--no-input")
        code, err = _finish(resumed, timeout=240)
        assert code == 0, err
        finished = SwarmLog(store).read_meta()
        assert finished is not None and finished["status"] == "finished"
    finally:
        frozen.send_signal(signal.SIGCONT)  # A continues its roll-forward, then its run
    code, err = _finish(frozen)
    assert code == 6 and "lost the swarm's owner lease" in err, (code, err)  # 6: another process runs it
    assert "Traceback" not in err
    assert SwarmLog(store).read_meta() == finished  # nothing of A's landed after B's
    keys = _consistent(store)
    assert len(keys) == len(set(keys))
    assert store.get(OWNER_KEY) == {"released": True}  # B's release, not A's stale lease
    rows = _cli_json(tmp_path, cosmos_env, "--store", "cosmos", "list")
    assert [r["status"] for r in rows if r["swarm_id"] == swarm_id] == ["finished"]


def test_cosmos_a_stale_roll_forward_writes_nothing(cosmos_container: Any) -> None:
    """Issue 19 item 3, in one process: a committed journal's operations carry the ETag
    each item had at the commit point. The writer that took the journal over rolls it
    forward and writes on; the frozen writer's late roll-forward then lands nowhere, and
    no reader lays a superseded operation over a newer value."""
    from swarm_star.store.cosmos import CosmosStore

    swarm = f"s-{uuid.uuid4().hex[:12]}"
    frozen = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm)
    frozen.commit([Put("x_meta", "frame 1"), Put("x_node", "node at 1"), Put("x_inbox", "answer")])
    etags = {key: frozen.get_versioned(key)[1] for key in ("x_meta", "x_node", "x_inbox")}  # type: ignore[index]
    ops = [
        {"key": "x_meta", "value": "frame 2", "etag": etags["x_meta"]},
        {"key": "x_node", "value": "node at 2", "etag": etags["x_node"]},
        {"key": "x_new", "value": "created at 2", "etag": None},
        {"key": "x_inbox", "etag": etags["x_inbox"]},
    ]
    journal = frozen._acquire_journal(ops, "committed")  # committed; the writer freezes here
    reader = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm)
    assert dict(reader.scan("x_")) == {"x_meta": "frame 2", "x_node": "node at 2", "x_new": "created at 2"}

    journal["holder"] = {"pid": _dead_pid(), "started": "1", **machine_identity()}  # as if expired
    seen = cosmos_container.replace_item(journal["id"], journal)
    owner = CosmosStore(container=cosmos_container, user_id="test", swarm_id=swarm)
    assert owner._take_over(dict(seen))  # rolls it forward
    owner.commit([Put("x_meta", "frame 9"), Put("x_node", "node at 9")])
    frozen._roll_forward(dict(journal))  # the frozen writer continues: every write is refused
    after = {"x_meta": "frame 9", "x_node": "node at 9", "x_new": "created at 2"}
    assert dict(reader.scan("x_")) == after

    # A committed journal whose items were written since (by a transactional batch, which
    # does not roll journals forward) is not laid over them by readers.
    etag = reader.get_versioned("x_meta")[1]  # type: ignore[index]
    late = owner._acquire_journal([{"key": "x_meta", "value": "stale", "etag": etag}], "committed")
    owner._apply(Put("x_meta", "frame 10"))
    assert reader.get("x_meta") == "frame 10" and dict(reader.scan("x_"))["x_meta"] == "frame 10"
    owner._release_journal(late)
