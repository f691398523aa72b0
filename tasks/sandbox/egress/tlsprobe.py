"""Would the sandbox trust this server's certificate? Asked by the egress proxy (`addon.py`, in
`.venv-proxy`; standard library only) for tunnels it passes through untouched.

A passed-through tunnel is encrypted end to end, so when a tool in the sandbox rejects the
server's certificate (a TLS-intercepting company proxy the sandbox does not trust) the proxy
cannot see it happen. Instead, once per host and port, it opens its own connection from the same
place (the pinned address, or through the same upstream proxy) and verifies the certificate
against exactly the bundle the sandbox trusts. The answer names the host, which the tool's own
error often does not ("curl: (60) SSL certificate problem").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl

TIMEOUT = 10.0


async def untrusted_reason(
    host: str,
    port: int,
    *,
    cafile: str,
    address: tuple[str, int] | None = None,
    via: tuple[str, int] | None = None,
    via_auth: str = "",
) -> str | None:
    """OpenSSL's reason when the server for `host:port` — at `address`, or behind the HTTP proxy
    `via` (reached with CONNECT, sending `via_auth` "user:password" when given) — shows a
    certificate that `cafile` does not verify for `host`. None when it verifies, and when the
    server could not be reached at all (not a trust problem, and the tool reports it well)."""
    context = ssl.create_default_context(cafile=cafile)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(TIMEOUT):
            if via is not None:
                reader, writer = await asyncio.open_connection(*via)
                auth = ""
                if via_auth:
                    token = base64.b64encode(via_auth.encode()).decode()
                    auth = f"Proxy-Authorization: Basic {token}\r\n"
                writer.write(
                    f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                if head.split(b" ", 2)[1:2] != [b"200"]:
                    return None
                await writer.start_tls(context, server_hostname=host)
            elif address is not None:
                _, writer = await asyncio.open_connection(
                    address[0], address[1], ssl=context, server_hostname=host
                )
            else:
                return None
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message or exc.reason or exc)
    except (
        OSError,
        TimeoutError,
        ssl.SSLError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        IndexError,
    ):
        return None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    return None
