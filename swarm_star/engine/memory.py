"""What the engine saves to the memory space on its own: every finished action's and manager's report."""

from __future__ import annotations

from swarm_star.engine.quality import report_junk
from swarm_star.models import (
    NodeRole,
    SaveMemory,
    SwarmNode,
)


class ResultMemory:
    """Part of :class:`~swarm_star.engine.loop.Engine`: results into ``results/`` of the memory space."""

    def _remember_result(self, node: SwarmNode, artifacts: list[str]) -> None:
        """Every finished action and manager leaves its report in ``results/`` of the memory space."""
        if node.role not in (NodeRole.ACTION, NodeRole.MANAGER) or node.parent_id is None:
            return
        if report_junk(node.report) is not None:
            return  # nothing worth finding later
        what = " ".join(node.directive.split())[:60]
        self.emit(
            SaveMemory(
                node_id=node.id,
                entry_id=f"results.{node.id}.report",
                folder="results",
                title=f"{node.id} {node.action_id}: {what}",
                content=(node.report or "") + (("\nWritten: " + ", ".join(artifacts)) if artifacts else ""),
                artifacts=list(artifacts),
            )
        )
