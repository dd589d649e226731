"""Network facts shared by the client, the server's HTTP transport and the sandbox CLI.

Kept outside those layers so each can use it without importing another (the sandbox must not import the
client or the server).
"""

from __future__ import annotations

import ipaddress

#: IonQ's API v0.4, where calls go unless ``IONQ_API_URL`` or the caller says otherwise.
IONQ_BASE_URL = "https://api.ionq.co/v0.4"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` (RFC 6761) and loopback IPv4/IPv6 literals (brackets allowed).

    Used to decide what may listen without a token and where an API key may travel over plain http.
    """
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
