"""Every command the swarm runs, and every action it wrote for itself, runs here, contained.

``--allow-exec`` opts a swarm into running code it wrote (tests, scripts, its
own actions). This package runs that code in bubblewrap (``bwrap.py``: no
network, the workspace the only writable place, a private PID namespace, no
inherited environment), under resource caps (``limits.py``), with the output
streamed and the whole process tree killed at the end or on a hard stop
(``runner.py``); a swarm's own actions run out of process through a small
JSON protocol (``own_action.py`` here, ``action_child.py`` in the sandbox).
Where bubblewrap cannot work (macOS, a container without user namespaces)
nothing runs unless the user chose ``--sandbox none`` by name.
"""

from swarm_star.sandbox.limits import ExecLimits
from swarm_star.sandbox.runner import SANDBOXES, ExecResult, SandboxProcess, check_sandbox, run_sandboxed

__all__ = ["SANDBOXES", "ExecLimits", "ExecResult", "SandboxProcess", "check_sandbox", "run_sandboxed"]
