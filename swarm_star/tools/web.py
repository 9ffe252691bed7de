"""The built-in ``tools/web/fetch``: an HTTP GET of a URL the model names, as text.

Why it is careful: the URL comes from a model, which may have read it anywhere.
So the fetch is bounded (``MAX_BYTES`` read, ``TIMEOUT`` seconds in all,
``MAX_REDIRECTS`` hops, each checked again) and, unless the user allowed it
(``tools.web_private``, ``--web-private``), never reaches loopback, private,
link-local or otherwise reserved addresses: the host is resolved once, every
address checked, and the connection made to the checked addresses only (a
resolver of our own, so a name cannot resolve to a public address for the check
and to a private one for the connection). HTML is turned into plain text with
the standard library's parser (scripts and styles dropped, links kept as
``text (url)``); other text types come back as they are, binary types are named.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from swarm_star.errors import ToolError

__all__ = ["FETCH_SCHEMA", "MAX_BYTES", "MAX_REDIRECTS", "TIMEOUT", "fetch_text", "html_to_text"]

MAX_BYTES = 2_000_000
MAX_REDIRECTS = 5
TIMEOUT = 20.0
USER_AGENT = "swarm-star-web-fetch/1 (+https://pypi.org/project/swarm-star/)"
FETCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"url": {"type": "string", "description": "the http(s) URL to read"}},
    "required": ["url"],
}
_BLOCK = frozenset(
    "p div br li ul ol tr table h1 h2 h3 h4 h5 h6 section article header footer pre blockquote hr dt dd".split()
)
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})


class _TextOf(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.out: list[str] = []
        self.skipping = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.out.append("\n")
        if tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []
        if tag in ("h1", "h2", "h3"):
            self.out.append("#" * int(tag[1]) + " ")
        if tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in _BLOCK:
            self.out.append("\n")
        if tag == "a" and self.href and not self.href.startswith(("#", "javascript:")):
            self.out.append(f" ({urljoin(self.base, self.href)})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)


def html_to_text(html: str, base: str = "") -> str:
    """The readable text of an HTML page: paragraphs on their own lines, links as ``text (url)``."""
    parser = _TextOf(base)
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.out).splitlines())
    text, blank = [], False
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip()


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _check_literal(url: str, allow_private: bool) -> None:
    """An address written in the URL never reaches a resolver: check it here."""
    host = urlsplit(url).hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not allow_private and _forbidden(str(literal)):
        raise ToolError(
            f"web/fetch refused {host}: it is a loopback, private or reserved address "
            "(the user may allow it with --web-private)"
        )


def _resolver(allow_private: bool) -> Any:
    from aiohttp.abc import AbstractResolver, ResolveResult
    from aiohttp.resolver import DefaultResolver

    class CheckedResolver(AbstractResolver):
        """Resolves once and hands the connector only the addresses that passed the check."""

        def __init__(self) -> None:
            self.inner = DefaultResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            found = await self.inner.resolve(host, port, family)
            if allow_private:
                return found
            allowed = [r for r in found if not _forbidden(r["host"])]
            if not allowed:
                raise ToolError(
                    f"web/fetch refused {host}: it is a loopback, private or reserved address "
                    "(the user may allow it with --web-private)"
                )
            return allowed

        async def close(self) -> None:
            await self.inner.close()

    return CheckedResolver()


async def fetch_text(
    url: str, *, allow_private: bool = False, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT
) -> str:
    """GET ``url`` and return its text (HTML made readable), a first line naming the final URL.
    ToolError for a refused, failed, non-text or unreachable page."""
    import aiohttp

    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).hostname:
        raise ToolError(f"web/fetch needs an http(s) URL, got {str(url)[:200]!r}")
    connector = aiohttp.TCPConnector(resolver=_resolver(allow_private), limit=4)
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,text/plain,application/json;q=0.9,*/*;q=0.5"}
    try:
        async with (
            asyncio.timeout(timeout),
            aiohttp.ClientSession(connector=connector, headers=headers, trust_env=False) as http,
        ):
            current = url
            for _ in range(MAX_REDIRECTS + 1):
                _check_literal(current, allow_private)
                async with http.get(current, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                        current = urljoin(current, response.headers["Location"])
                        if urlsplit(current).scheme.lower() not in ("http", "https"):
                            raise ToolError(f"web/fetch: {url} redirects to a non-http URL")
                        continue
                    if response.status >= 400:
                        raise ToolError(f"web/fetch: {current} answered HTTP {response.status}")
                    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                    body = await response.content.read(max_bytes + 1)
                    cut = len(body) > max_bytes
                    body = body[:max_bytes]
                    charset = response.charset or "utf-8"
                    break
            else:
                raise ToolError(f"web/fetch: {url} redirected more than {MAX_REDIRECTS} times")
    except ToolError:
        raise
    except TimeoutError as exc:
        raise ToolError(f"web/fetch: {url} took longer than {timeout:g} s") from exc
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, ToolError) else None
        if cause is not None:
            raise cause from exc
        raise ToolError(f"web/fetch: {url} failed: {type(exc).__name__}: {exc}") from exc
    if kind and not (
        kind.startswith("text/") or kind in ("application/json", "application/xml", "application/xhtml+xml")
    ):
        return f"URL: {current}\n[{kind} content, {len(body)} bytes: not text]"
    try:
        text = body.decode(charset, "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    if kind in ("text/html", "application/xhtml+xml") or (not kind and "<html" in text[:1000].lower()):
        text = html_to_text(text, current)
    note = f"\n[cut at {max_bytes:,} bytes]" if cut else ""
    return f"URL: {current}\n\n{text}{note}"
