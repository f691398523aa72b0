"""One HTTP POST to a checked destination, connecting to the address that was checked."""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping

from tasks.notifications.destinations import Destination

RESPONSE_READ_LIMIT = 64 * 1024


def post(
    destination: Destination, body: bytes, headers: Mapping[str, str], *, timeout: float
) -> int:
    """POST `body` and return the response's status code. Raises OSError (including
    ssl.SSLError and socket.timeout) or http.client.HTTPException when no answer came.
    Redirects are not followed: a 3xx is just a status code."""
    sock = socket.create_connection((destination.address, destination.port), timeout=timeout)
    try:
        if destination.scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=destination.host)
        conn = http.client.HTTPConnection(destination.host, destination.port, timeout=timeout)
        conn.sock = sock  # already connected to the checked address; connect() is skipped
        conn.request("POST", destination.target, body=body, headers=dict(headers))
        response = conn.getresponse()
        response.read(RESPONSE_READ_LIMIT)
        return response.status
    finally:
        sock.close()
