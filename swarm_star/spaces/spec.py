"""What a leaf module declares about itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LeafSpec"]


@dataclass(frozen=True)
class LeafSpec:
    """Metadata of an action or util leaf; ``routable=False`` hides it from routers."""

    name: str
    description: str
    routable: bool = True
    input_schema: dict[str, Any] = field(default_factory=dict)
