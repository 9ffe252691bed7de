"""``python -m benchmarks.eval ARGS`` runs ``swarm-star eval ARGS`` (the harness moved into the package).

What the old command did is kept where it differs: only the ``swarm`` strategy
unless ``--strategies`` is given, a temporary space unless ``--space`` is, the
old ``--timeout`` (seconds per code check) is ``--check-timeout``, and
``--scripted good|bad|mixed`` is a scripted model right with probability
1, 0 or 0.5 per call.
"""

from __future__ import annotations

import sys
import tempfile

from swarm_star.cli import main as swarm_star_main

OLD_SCRIPTED = {"good": "1", "bad": "0", "mixed": "0.5"}


def translate(argv: list[str]) -> list[str]:
    """The old flags as ``swarm-star eval`` takes them."""
    out: list[str] = []
    for index, arg in enumerate(argv):
        before = argv[index - 1] if index else ""
        if arg == "--timeout":
            out.append("--check-timeout")
        elif before == "--scripted" and arg in OLD_SCRIPTED:
            out.append(OLD_SCRIPTED[arg])
        else:
            out.append(arg)
    if not any(a.startswith("--strategies") for a in argv):
        out += ["--strategies", "swarm"]
    return out


def main(argv: list[str] | None = None) -> int:
    args = translate(list(sys.argv[1:] if argv is None else argv))
    if any(a == "--space" or a.startswith("--space=") for a in args) or any(a in ("-h", "--help") for a in args):
        return swarm_star_main(["eval", *args])
    with tempfile.TemporaryDirectory(prefix="swarm-eval-") as tmp:
        return swarm_star_main(["eval", *args, "--space", tmp])


if __name__ == "__main__":
    sys.exit(main())
