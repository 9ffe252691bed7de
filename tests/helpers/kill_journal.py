"""The crash suite's way to stop a Cosmos DB writer inside a journal roll-forward.

``SWARM_STAR_TEST_KILL_JOURNAL=J:K`` (or ``J:K:STOP``): SIGKILL (or SIGSTOP, to
freeze a writer for a takeover) this process during the J-th journal
roll-forward of a store, just before its K-th operation is applied.

The library has no crash switch: this module installs the store's one hook
point, :attr:`CosmosStore.roll_forward_hook`, in the process it runs in.

Usage: ``python -m tests.helpers.kill_journal ARGS...`` runs the CLI with ARGS
and the hook installed; ``install()`` installs it in a process of your own.
"""

from __future__ import annotations

import os
import signal
import weakref

from swarm_star.store.cosmos import CosmosStore

ENV = "SWARM_STAR_TEST_KILL_JOURNAL"


def install() -> None:
    """Arm the hook from ``$SWARM_STAR_TEST_KILL_JOURNAL`` (nothing when it is unset)."""
    journal, _, rest = os.environ.get(ENV, "").partition(":")
    if not journal:
        return
    ops, _, how = rest.partition(":")
    at_journal, at_op = int(journal), int(ops or 0)
    sig = signal.SIGSTOP if how == "STOP" else signal.SIGKILL
    rolled: weakref.WeakKeyDictionary[CosmosStore, int] = weakref.WeakKeyDictionary()

    def hook(store: CosmosStore, index: int) -> None:
        if index == 0:  # a roll-forward starts (a committed journal has at least one operation)
            rolled[store] = rolled.get(store, 0) + 1
        if rolled.get(store) == at_journal and index == at_op:
            os.kill(os.getpid(), sig)

    CosmosStore.roll_forward_hook = hook


if __name__ == "__main__":
    from swarm_star.cli import run_main

    install()
    run_main()  # reads sys.argv[1:], exits with the command's code
