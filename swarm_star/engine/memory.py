"""What the engine saves to the memory space on its own: every finished part's report.

Why the engine and not the action: a report is worth finding later whichever
action produced it (an installed one, a swarm's own, a remote one), so the
writer files it when it applies the ``terminate``, in the same batch.
"""

from __future__ import annotations

from swarm_star.engine.quality import report_junk
from swarm_star.models import NodeRole, SaveMemory, SwarmNode

__all__ = ["result_memory"]


def result_memory(node: SwarmNode, artifacts: list[str]) -> SaveMemory | None:
    """The ``results/`` entry for a finished action or manager (not the root), or None
    when there is nothing worth finding later (a junk report)."""
    if node.role not in (NodeRole.ACTION, NodeRole.MANAGER) or node.parent_id is None:
        return None
    if report_junk(node.report) is not None:
        return None
    what = " ".join(node.directive.split())[:60]
    return SaveMemory(
        node_id=node.id,
        entry_id=f"results.{node.id}.report",
        folder="results",
        title=f"{node.id} {node.action_id}: {what}",
        content=(node.report or "") + (("\nWritten: " + ", ".join(artifacts)) if artifacts else ""),
        artifacts=list(artifacts),
    )
