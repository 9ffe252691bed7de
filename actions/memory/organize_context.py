"""Sort the user's many context files into topic folders of the memory space (the root's first step).

One model call per swarm, and only when there are more context files than a
menu shows (the root decides: :func:`organizable`). The grouping the model
proposes is checked (every file exactly once, at most MAX_MENU - 1 topics of at
most MAX_MENU files, short distinct names) and recorded as a memory entry of
the hidden ``layout`` folder, so it replays, resumes and forks with the swarm.
A grouping that fails the check, or a reply that is not one, is not recorded:
the report says why, and the memory space keeps grouping the files by folder.
"""

from __future__ import annotations

import json
from typing import Any

from swarm_star.kit import (
    FILE_TITLE,
    LAYOUT_FOLDER,
    MAX_MENU,
    ActionContext,
    ContextTopic,
    LeafSpec,
    ModelOutputError,
    Purpose,
    check_topics,
    prompts,
)

SPEC = LeafSpec(
    name="organize_context",
    description="Sort many context files into topic folders of the memory space, once, before the work starts.",
    routable=False,
)
PREVIEW = 100
"""Characters of each file's text shown next to its name."""


async def run(ctx: ActionContext) -> list[Any]:
    files = [e for e in ctx.memory() if e.folder == "context" and e.title.startswith(FILE_TITLE)]
    shown = [(e.title.removeprefix(FILE_TITLE), " ".join(e.content.split())[:PREVIEW]) for e in files]
    try:
        reply = await ctx.ask_model(
            prompts.memory.topics_messages(shown, most_topics=MAX_MENU - 1, most_entries=MAX_MENU),
            purpose=Purpose.ORGANIZE_MEMORY,
            schema=prompts.memory.ContextTopics,
        )
    except ModelOutputError as exc:
        return [ctx.terminate(f"context stays grouped by folder: the model's reply was not a grouping ({exc})")]
    ids = [e.entry_id for e in files]
    by_number = dict(enumerate(ids, 1))
    topics = [
        ContextTopic(
            name=t.name,
            description=" ".join(t.description.split()),
            entries=[by_number.get(n, f"#{n}") for n in t.entries],
        )
        for t in reply.topics
    ]
    why = check_topics(topics, ids)
    if why is not None:
        return [ctx.terminate(f"context stays grouped by folder: the model's topics were unusable ({why})")]
    layout = json.dumps({"topics": [t.model_dump() for t in topics]})
    names = ", ".join(f"{t.name} ({len(t.entries)})" for t in topics)
    return [
        ctx.save_memory(LAYOUT_FOLDER, "context topics", layout),
        ctx.terminate(f"context grouped into {len(topics)} topics: {names}"),
    ]
