"""Start the npm Cosmos-compatible server (installed under tests/.cosmos_server) for benchmarks."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

SERVER_DIR = Path(__file__).resolve().parents[1] / "tests" / ".cosmos_server"


@contextlib.contextmanager
def running_cosmos_server() -> Iterator[dict[str, str]]:
    binary = SERVER_DIR / "node_modules" / ".bin" / "cosmosdb-server"
    if not binary.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(SERVER_DIR)], check=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(binary), "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
        yield {
            "COSMOS_ENDPOINT": f"https://127.0.0.1:{port}",
            "COSMOS_KEY": "YmVuY2gta2V5",
            "COSMOS_VERIFY_TLS": "0",
            "COSMOS_DATABASE": "bench",
            "COSMOS_CONTAINER": "bench",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
