"""Metadata trees of the action, util and memory spaces, as stored in the kv-store."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SpaceFolder(BaseModel):
    """A category: routers show its children (name + description) to the model."""

    schema_version: int = 1
    type: Literal["folder"] = "folder"
    id: str
    name: str
    description: str
    children: list[str] = Field(default_factory=list)


class SpaceLeaf(BaseModel):
    """An action, util or memory entry. ``entry_point`` is ``file.py:function``."""

    schema_version: int = 1
    type: Literal["leaf"] = "leaf"
    id: str
    name: str
    description: str
    routable: bool = True
    entry_point: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=dict)
    needs: list[str] = Field(default_factory=list, description="what the swarm must provide (see spaces.needs)")
    content: str | None = Field(default=None, description="memory entries only")


SpaceEntry = SpaceFolder | SpaceLeaf
