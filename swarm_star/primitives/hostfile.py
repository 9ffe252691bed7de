"""Hostfiles: one LLM endpoint ("agent") per line, with optional tags.

Format, chosen to match what cluster schedulers write out::

    # comment
    aurora-0001:8000   node=aurora-0001 role=critic
    10.0.0.7           role=writer          # port defaults to 8000 (vLLM)
    [::1]:9000
    https://api.example.org/v1  role=judge

Fields are separated by spaces or tabs; blank lines and ``#`` comments are
ignored. Every malformed line is reported as ``file:line: why`` so a user with
a 4,000-line file can fix it without guessing. Host names are checked against
DNS's limits here (labels of at most 63 characters, names of at most 253), so
a name the resolver cannot encode is a line error, not an ``idna`` traceback
from the first request; a line longer than :data:`MAX_LINE` is refused before
it is parsed, and the offending text is shortened in the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from swarm_star.errors import HostfileError
from swarm_star.llm.redact import strip_url_credentials

__all__ = ["DEFAULT_PORT", "MAX_LINE", "Agent", "load_hostfile", "parse_hostfile"]

DEFAULT_PORT = 8000
MAX_LINE = 4096
"""The longest hostfile line read (an address and its tags fit in far less)."""
_SHOWN = 60
_HOST = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.\-_]*[A-Za-z0-9])?))(?::(?P<port>[^:]*))?$"
)
_URL = re.compile(r"^https?://[^\s/]+(?:/\S*)?$")
_TAG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Agent:
    """One endpoint. ``base_url`` is an OpenAI-compatible API root (ending in /v1)."""

    base_url: str
    tags: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    line: int = 0

    @property
    def name(self) -> str:
        """The ``node`` tag if given (what a scheduler calls the machine), else the address
        without credentials (the name is stored with every reply and printed)."""
        address = strip_url_credentials(self.base_url)
        return self.tags.get("node") or address.split("://", 1)[-1].removesuffix("/v1")

    def matches(self, tags: dict[str, str]) -> bool:
        return all(self.tags.get(k) == v for k, v in tags.items())


def parse_hostfile(text: str, source: str = "<hostfile>") -> list[Agent]:
    """Parse hostfile text; raise :class:`HostfileError` naming ``source:line``."""
    agents: list[Agent] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"{source}:{number}"
        if len(raw) > MAX_LINE:
            raise HostfileError(f"{where}: line too long ({len(raw):,} characters, at most {MAX_LINE:,})")
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        address, *rest = line.split()
        base_url = _base_url(address, where)
        tags: dict[str, str] = {}
        for item in rest:
            key, sep, value = item.partition("=")
            if not sep or not _TAG_KEY.match(key) or not value:
                raise HostfileError(f"{where}: expected key=value tag, got {_shown(item)}")
            if key in tags:
                raise HostfileError(f"{where}: tag {_shown(key)} given twice")
            tags[key] = value
        agents.append(Agent(base_url, tags, number))
    if not agents:
        raise HostfileError(f"{source}: no agents listed (only blank lines or comments)")
    return agents


def load_hostfile(path: str | Path) -> list[Agent]:
    """Read and parse a hostfile; an unreadable file is a HostfileError too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise HostfileError(f"cannot read hostfile {p}: {reason}") from exc
    return parse_hostfile(text, str(p))


def _shown(text: str) -> str:
    """``text`` quoted for an error message, shortened so the message stays one readable line."""
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")


def _check_host_name(name: str, where: str) -> None:
    """DNS's limits, which the resolver enforces later with an ``idna`` traceback."""
    labels = name.removesuffix(".").split(".")
    if any(not label for label in labels):
        raise HostfileError(f"{where}: empty label in host name {_shown(name)}")
    longest = max(labels, key=len)
    if len(longest) > 63:
        raise HostfileError(f"{where}: host name label longer than 63 characters ({len(longest):,}): {_shown(name)}")
    if len(name) > 253:
        raise HostfileError(f"{where}: host name longer than 253 characters ({len(name):,}): {_shown(name)}")


def _base_url(address: str, where: str) -> str:
    if address.startswith(("http://", "https://")):
        if not _URL.match(address):
            raise HostfileError(f"{where}: malformed URL {_shown(address)}")
        try:
            parts = urlsplit(address)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            raise HostfileError(f"{where}: malformed URL {_shown(address)}: {exc}") from exc
        if not parts.hostname:
            raise HostfileError(f"{where}: malformed URL {_shown(address)}")
        if ":" not in parts.hostname:  # an IPv6 literal has no DNS labels
            _check_host_name(parts.hostname, where)
        url = address.rstrip("/")
        return url if url.endswith("/v1") else url + "/v1"
    match = _HOST.match(address)
    if not match:
        raise HostfileError(f"{where}: expected host[:port], got {_shown(address)}")
    port_text = match.group("port")
    if port_text is None:
        port = DEFAULT_PORT
    elif not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise HostfileError(f"{where}: port must be 1-65535, got {_shown(port_text)}")
    else:
        port = int(port_text)
    if match.group("name"):
        _check_host_name(match.group("name"), where)
    host = f"[{match.group('v6')}]" if match.group("v6") else match.group("name")
    return f"http://{host}:{port}/v1"
