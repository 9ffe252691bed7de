"""A local http endpoint does not pay for loading the system's certificate authorities."""

from __future__ import annotations

import ssl

from swarm_star.llm.client import LLMClient
from swarm_star.llm.endpoint import Endpoint
from swarm_star.models import ModelSettings


def _context(url: str) -> ssl.SSLContext:
    client = LLMClient(Endpoint(url, "k", "m", None, None), ModelSettings())
    # The SDK's aiohttp transport keeps the context it was given: the one any https
    # connection of this client (a redirect, too) would be checked against.
    return client._client._client._transport.ssl_context  # type: ignore[attr-defined,no-any-return]


def test_http_endpoint_trusts_no_authority_and_https_trusts_the_system() -> None:
    local = _context("http://127.0.0.1:8080/v1")
    assert local.verify_mode == ssl.CERT_REQUIRED and local.check_hostname
    assert local.cert_store_stats()["x509_ca"] == 0  # fails closed if ever sent to https

    remote = _context("https://api.example.com/v1")
    assert remote.verify_mode == ssl.CERT_REQUIRED and remote.check_hostname
    assert remote.cert_store_stats()["x509_ca"] > 0
