"""Streamed replies: a slow model that makes progress is never cut off; one that stalls,
or trickles forever, still ends.

Why: every request used to have one total deadline (60 s by default). A local
model on a loaded CPU writes 3–8 tokens a second, so a review capped at 1,024
tokens needs minutes, and the swarm paused as "endpoint unreachable: timed
out" while the server was working (issue 21). Now replies are streamed and
two clocks run (:class:`Deadlines`):

- **stall** (``ModelSettings.timeout``, 60 s): the longest wait for the reply
  to start (the response headers, then its first event) and between two
  events. A server that keeps sending tokens never hits it; one that stops
  does, and bytes that carry no event (whitespace, keep-alive comments) are
  not progress.
- **total** (``timeout + max_tokens / min_rate``): the most one attempt may
  take, so a server that drips tokens slower than ``min_rate`` (2 tokens/s
  by default) forever still ends. With the defaults a 1,024-token plan may
  take 572 s, a 96-token route 108 s.

``--max-time`` stays a hard stop above both (the engine cancels calls in
flight). A server that ignores ``stream`` and answers with one JSON body is
read as before, within the stall clock. A server that streams but reports no
usage in its stream (llama-cpp-python 0.3.36 ignores ``stream_options``) would
leave the swarm's token counts blind; the client then stops streaming to that
model (:attr:`StreamedReply.usage` is None) and its later requests are sent
whole, bounded by the total clock.

The SDK sends the request (its auth, transport and HTTP status
errors); the events are read here from the response body, to its end
(:class:`EventData` finds them, :func:`_read_events` says why not the SDK's own
iterator), and what goes wrong while reading is raised as the SDK would.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sys
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from swarm_star.models import ModelSettings

if TYPE_CHECKING:  # the SDK is imported where a client is built
    import httpx2
    import openai

__all__ = ["STREAM_PROGRESS", "Deadlines", "EventData", "Stalled", "StreamedReply", "TooSlow", "stream_completion"]

STREAM_OPTIONS = {"stream": True, "stream_options": {"include_usage": True}}

DRAIN = 0.1
"""Seconds the rest of the body may take after ``[DONE]`` (the chunked end, sent with it or just
after): read to its end, the connection goes back to the pool; cut short, it is closed and the
reply kept. The SDK's own bound for the same wait."""

Progress = Callable[[int], None]
"""Called with the number of content events received so far, as they arrive."""

STREAM_PROGRESS: ContextVar[Progress | None] = ContextVar("swarm_star_stream_progress", default=None)
"""The progress callback of the call being made in this task (set by the engine's in-flight
tracker, read where the client streams): per task, so parallel calls never mix their counts."""


class Stalled(TimeoutError):
    """Nothing arrived for the stall time: the message says how long."""


class TooSlow(TimeoutError):
    """The attempt ran past its total time (the reply was still incomplete)."""


@dataclass(frozen=True)
class Deadlines:
    """The two clocks of one attempt, in seconds."""

    stall: float
    total: float

    @classmethod
    def of(cls, settings: ModelSettings, max_tokens: int) -> Deadlines:
        return cls(settings.timeout, settings.timeout + max_tokens / settings.min_rate)


@dataclass
class StreamedReply:
    """A streamed chat completion put together from its events."""

    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    events: int = 0
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)  # by index: id, name, arguments so far

    def add(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            raise ValueError("a stream event that is not a JSON object")
        self.events += 1
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        self.model = self.model or chunk.get("model")
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.content.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self.refusal.append(delta["refusal"])
            for part in delta.get("tool_calls") or ():  # native function calling: pieces of each call
                if isinstance(part, dict):
                    self._tool_part(part)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    def _tool_part(self, part: dict[str, Any]) -> None:
        call = self.tool_calls.setdefault(int(part.get("index") or 0), {"id": None, "name": "", "arguments": ""})
        call["id"] = call["id"] or part.get("id")
        function = part.get("function") or {}
        if isinstance(function.get("name"), str):
            call["name"] = call["name"] or function["name"]
        if isinstance(function.get("arguments"), str):
            call["arguments"] += function["arguments"]

    def as_completion(self) -> dict[str, Any]:
        """The reply in the shape of a non-streamed chat completion (what the client reads)."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content)}
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for _, c in sorted(self.tool_calls.items())
            ]
        out: dict[str, Any] = {
            "object": "chat.completion",
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            out["usage"] = self.usage
        return out


async def stream_completion(
    sdk: openai.AsyncOpenAI, payload: dict[str, Any], deadlines: Deadlines, progress: Progress | None = None
) -> tuple[dict[str, Any], bool]:
    """Send ``payload`` streamed; return (the completion, whether the server reported usage).

    Raises :class:`Stalled` when the reply does not start, or pauses, for ``deadlines.stall``.
    The caller bounds the whole attempt by ``deadlines.total``.
    """
    try:
        async with asyncio.timeout(deadlines.stall):
            stream = await sdk.post(
                "/chat/completions",
                body={**payload, **STREAM_OPTIONS},
                cast_to=object,
                stream=True,
                stream_cls=_body_only(),
            )
    except TimeoutError:
        raise Stalled(f"no reply within {deadlines.stall:g} s") from None
    response = stream.response
    try:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            try:  # a server that ignores `stream` answers with one JSON body
                async with asyncio.timeout(deadlines.stall):
                    body = await response.aread()
            except TimeoutError:
                raise Stalled(f"reply body not complete {deadlines.stall:g} s after it began") from None
            return json.loads(body), True
        reply = StreamedReply()
        await _read_events(response, reply, deadlines.stall, progress)
        return reply.as_completion(), reply.usage is not None
    finally:
        await response.aclose()


@functools.cache
def _body_only() -> type[openai.AsyncStream[object]]:
    """The SDK's stream type holding only the response, whose events :func:`_read_events` reads.

    Why not ``AsyncStream`` itself: its constructor makes its event generator at once, and a
    generator never started keeps its frame, which holds the stream, which holds the generator:
    a cycle per call (the response, its headers, the transport's objects) that only the garbage
    collector frees. A subclass is the SDK's own way to choose the stream type.
    """
    import openai

    class BodyOnly(openai.AsyncStream[object]):
        def __init__(self, *, response: httpx2.Response, **_: Any) -> None:  # not the SDK's: no generator
            self.response = response

    return BodyOnly


async def _read_events(
    response: httpx2.Response, reply: StreamedReply, stall: float, progress: Progress | None
) -> None:
    """Add the events of a streamed ``response`` to ``reply``, reading its body to the end.

    Why not iterate the SDK's ``AsyncStream``: it stops at ``[DONE]`` and leaves its
    three nested async generators unfinished; the event loop's finalizer hook then
    closes each one later through a thread-safe wake-up: extra loop passes and task
    steps on every call (issue 25). Here the body's one iterator is read to its end, or
    closed at once on any way out (``aclosing``; httpx closes what it nests). The SDK's
    mapping of what can go wrong is kept: an event carrying ``error`` raises
    :class:`openai.APIError` with that body, a transport timeout :class:`openai.APITimeoutError`,
    another transport failure :class:`openai.APIConnectionError`.
    """
    import openai

    http = sys.modules[type(response).__module__.partition(".")[0]]  # httpx2 (httpx under an older SDK)
    loop = asyncio.get_running_loop()
    events = EventData()
    done = False  # [DONE] came: the rest of the body is read only to end it

    def add(data: list[bytes]) -> bool:
        for event in data:
            if event.startswith(b"[DONE]"):
                return True
            chunk = json.loads(event)
            if isinstance(chunk, dict) and chunk.get("error"):
                raise _error_event(chunk["error"], response.request)
            reply.add(chunk)
            if progress is not None:
                progress(len(reply.content))
        return False

    try:
        async with asyncio.timeout(stall) as clock, contextlib.aclosing(response.aiter_bytes()) as body:
            async for piece in body:
                if not done and (data := events.feed(piece)):  # only events are progress, not bytes
                    done = add(data)
                    clock.reschedule(loop.time() + (DRAIN if done else stall))
            if not done:
                add(events.end())
    # After [DONE] the reply is whole: a drain that times out or a connection that drops before the
    # body's end costs the connection (closed, not reused), never the reply (the SDK's cleanup too).
    except TimeoutError:
        if not done:
            raise Stalled(f"no new token for {stall:g} s (after {reply.events} events)") from None
    except http.TimeoutException as exc:
        if not done:
            raise openai.APITimeoutError(request=response.request) from exc
    except http.RequestError as exc:
        if not done:
            raise openai.APIConnectionError(request=response.request) from exc


def _error_event(error: Any, request: httpx2.Request) -> openai.APIError:
    """What the SDK raises for an event carrying ``error`` (llama.cpp puts a status in its ``code``)."""
    import openai

    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = "An error occurred during streaming"
    return openai.APIError(message, request, body=error)


class EventData:
    """The data of each server-sent event in a body that arrives in pieces split anywhere.

    The SSE rules that matter for a completion: lines end with CR, LF or CRLF; an event's
    ``data:`` lines are joined with LF; a blank line ends the event; comments (``:``) and
    other fields (``event:``, ``id:``, ``retry:``) carry no data; an event without data is
    none. A last line not yet ended (or ended by a CR whose LF may follow) waits for the next
    piece; its pieces are joined once a line end arrives, so a long event costs its length,
    not its length times its pieces.
    """

    def __init__(self) -> None:
        self._held: list[bytes] = []  # the pieces of the last line, not ended yet
        self._data: list[bytes] = []
        self._first = True  # the body's first line: a byte-order mark before it is dropped (the SSE rule)

    def feed(self, piece: bytes) -> list[bytes]:
        self._held.append(piece)
        if b"\n" not in piece and b"\r" not in piece and not self._held[0].endswith(b"\r"):
            return []  # nothing ends here (a held CR may end its line at this piece's first byte)
        lines = b"".join(self._held).splitlines(keepends=True)
        self._held = [lines.pop()] if lines and not lines[-1].endswith(b"\n") else []
        return self._events(lines)

    def end(self) -> list[bytes]:
        """At the end of the body: a held line ended by CR was whole; an event not ended is dropped."""
        tail = b"".join(self._held)
        self._held = []
        return self._events([tail] if tail.endswith(b"\r") else [])

    def _events(self, lines: list[bytes]) -> list[bytes]:
        out = []
        for line in lines:
            line = line.rstrip(b"\r\n")
            if self._first:
                line, self._first = line.removeprefix(b"\xef\xbb\xbf"), False
            if not line:
                if self._data:
                    out.append(b"\n".join(self._data))
                    self._data = []
                continue
            name, _, value = line.partition(b":")
            if name == b"data":
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return out
