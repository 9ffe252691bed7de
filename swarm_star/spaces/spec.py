"""What a leaf module declares about itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from swarm_star.models import SpaceLeaf

__all__ = ["LeafSpec"]


@dataclass(frozen=True)
class LeafSpec:
    """Metadata of an action or util leaf; ``routable=False`` hides it from routers.

    ``needs`` names what the leaf cannot work without (see
    :data:`swarm_star.spaces.needs.NEEDS`, e.g. ``"hostfile"`` or
    ``"allow_exec"``): a router never offers a leaf whose needs the swarm does
    not meet, so a model cannot pick an action that is bound to fail.
    """

    name: str
    description: str
    routable: bool = True
    input_schema: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()

    def leaf(self, leaf_id: str, entry_point: str) -> SpaceLeaf:
        """The menu entry of the leaf with this spec (``entry_point``: ``file.py:function``)."""
        return SpaceLeaf(
            id=leaf_id,
            name=self.name,
            description=self.description,
            routable=self.routable,
            entry_point=entry_point,
            input_schema=self.input_schema,
            needs=list(self.needs),
        )
