"""Hostfiles: one LLM endpoint ("agent") per line, with optional tags.

Format, chosen to match what cluster schedulers write out::

    # comment
    aurora-0001:8000   node=aurora-0001 role=critic
    10.0.0.7           role=writer          # port defaults to 8000 (vLLM)
    [::1]:9000
    https://api.example.org/v1  role=judge

Fields are separated by spaces or tabs; blank lines and ``#`` comments are
ignored. Aurora-Swarm's column form, ``host<TAB>port<TAB>tags``, is read too (a
bare number after a host without a port is its port). Every malformed line
is reported as ``file:line: why`` so a user with a 4,000-line file can fix it
without guessing. Host names are checked against
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

__all__ = ["DEFAULT_PORT", "MAX_LINE", "Agent", "AgentEndpoint", "load_hostfile", "parse_hostfile"]

DEFAULT_PORT = 8000
MAX_LINE = 4096
"""The longest hostfile line read (an address and its tags fit in far less)."""
_SHOWN = 60
_HOST = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.\-_]*[A-Za-z0-9])?))(?::(?P<port>[^:]*))?$"
)
_URL = re.compile(r"^https?://[^\s/]+(?:/\S*)?$")
_TAG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_FILE_SUFFIXES = frozenset(
    {"hostfile", "hosts", "host", "txt", "text", "list", "lst", "cfg", "conf", "ini", "tsv", "csv", "dat", "out"}
)
"""Endings that make a one-line argument of :func:`parse_hostfile` a file name, never a host."""


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

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def matches(self, tags: dict[str, str]) -> bool:
        return all(self.tags.get(k) == v for k, v in tags.items())


class AgentEndpoint(Agent):
    """Aurora-Swarm's name: ``AgentEndpoint("host1", 8000, {"role": "critic"})`` is an :class:`Agent`."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, tags: dict[str, str] | None = None) -> None:
        where = f"AgentEndpoint({host!r}, {port!r})"
        address = host if host.startswith(("http://", "https://")) else f"{host}:{port}"
        super().__init__(_base_url(address, where), dict(tags or {}))


def parse_hostfile(text: str | Path, source: str | None = None) -> list[Agent]:
    """Parse hostfile text, or read a hostfile; raise :class:`HostfileError` naming ``source:line``.

    Aurora-Swarm's scripts call ``parse_hostfile("agents.hostfile")``: one line
    without a newline that names an existing file is read as that file (so is a
    :class:`~pathlib.Path`); one that looks like a file name (a path separator, or
    an ending such as ``.hostfile`` or ``.txt``) but names no file is an error,
    never a host called ``agents.hostfile``. Anything else is hostfile text (a
    one-line text such as ``gpu-1:8000 role=critic`` is one agent). With
    ``source`` given the argument is always text.
    """
    if isinstance(text, Path):
        return load_hostfile(text)
    if source is None and "\n" not in text:
        named = _named_file(text.strip())
        if named is not None:
            return load_hostfile(named)
    source = source or "<hostfile>"
    agents: list[Agent] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"{source}:{number}"
        if len(raw) > MAX_LINE:
            raise HostfileError(f"{where}: line too long ({len(raw):,} characters, at most {MAX_LINE:,})")
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        address, *rest = line.split()
        bare = _HOST.match(address)
        if rest and rest[0].isdigit() and bare is not None and bare.group("port") is None:
            address = f"{address}:{rest.pop(0)}"  # Aurora-Swarm's port column
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


def _named_file(arg: str) -> Path | None:
    """The file a one-line ``parse_hostfile`` argument names, None if it is hostfile text."""
    if not arg or any(c.isspace() for c in arg) or len(arg) > MAX_LINE:
        return None
    path = Path(arg).expanduser()
    try:
        if path.is_file():
            return path
    except OSError:  # a name too long for the file system is no file
        pass
    suffix = arg.rsplit(".", 1)[-1].lower() if "." in arg else ""
    if "/" in arg or "\\" in arg or arg.startswith("~") or suffix in _FILE_SUFFIXES:
        raise HostfileError(f"no hostfile {_shown(arg)}: that is a file name, and no such file exists")
    return None


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
