"""mitmproxy addon enforcing one attempt phase's egress rules (runs in `.venv-proxy`'s mitmdump).

Started by `proxy.py` as `mitmdump -s addon.py --set codexweb_rules=FILE --set codexweb_log=FILE
--set codexweb_ready=FILE`. Every request and tunnel is decided by `policy.decide` and recorded
as one JSON line `{"at", "host", "port", "method", "allowed", "reason", "url"}` (the URL without
its query; `host:port` for a tunnel); refusals get a 403 whose plain-text body says why, so an
agent reading curl's output understands. The rules file is re-read when the worker replaces it
(`rules_file.py`): an approved host passes from the next request on, without a restart.

Tunnels (CONNECT) are decided on their host. What happens inside an allowed tunnel:
- plain HTTP: every request is decided on the tunnel's host and its own method;
- TLS, when the rules say `intercept_tls` (an allowlist restricting methods): the proxy
  terminates TLS with a certificate from its per-attempt CA (in its own confdir; the container
  trusts that CA for the agent phase), opens TLS upstream to the tunnel's host (SNI and
  certificate verification against the CONNECT host, never the client's SNI), and decides each
  request on its method; a request whose SNI or Host header names another host is refused;
- TLS otherwise (`on`, method-unrestricted allowlists): passed through untouched;
- anything else (raw TCP: ssh, smtp, a database protocol): refused under an allowlist, and under
  `on` unless the tunnel's port is one of the rules' ports (80, 443) — the client reads one line
  saying why, then both sides are closed.
Destinations are resolved here and pinned; non-public addresses (`addresses.classify`: loopback,
private, link-local, NAT64/6to4/mapped forms of those, this host's own addresses...) are refused
unless the rules list their network. Chained to a company proxy (`--mode upstream:URL`) every
connection goes to that proxy, which resolves names itself: the address check happens when the
request is decided, on what this host resolves; names it cannot resolve are left to the company
proxy.

Credentials (`credentials.py`, from `codexweb_credentials`, a 0600 file the worker wrote and
removes once the proxy is up): TLS to a credential's domain is intercepted whatever the policy
(the container trusts the CA whenever there are credentials); an allowed request to a matching
host gets the header (the client's own header of that name is replaced), each use is written to
`codexweb_credential_log` as `{"at", "id", "host"}`, and every response is stripped of every
form of every credential.

Upstream TLS trouble is written to `codexweb_tls_log` as JSON lines `{"at", "host", "port",
"error"}`: when interception's own upstream handshake fails (`tls_failed_server`), and, with
`codexweb_probe_ca` (the sandbox's trust bundle, given for the setup phase; empty until the worker
has read it from the container), when a passed-through tunnel's server shows a certificate the
sandbox will not trust (`tlsprobe.py`, once per host).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http, tls
from mitmproxy.proxy import commands, layer, mode_specs, server_hooks
from mitmproxy.proxy.layers import TCPLayer


def _has_content(path: str) -> bool:
    """Whether `path` names a non-empty file (the probe's bundle, which the worker writes in
    one rename once it has read it from the container)."""
    try:
        return bool(path) and os.path.getsize(path) > 0
    except OSError:
        return False


def _load(name: str) -> Any:
    """A stdlib-only sibling module, by path: this file runs in `.venv-proxy`, outside the
    project's packages."""
    spec = importlib.util.spec_from_file_location(
        f"codexweb_egress_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


policy = _load("policy")
addresses = _load("addresses")
tlsprobe = _load("tlsprobe")
rules_file = _load("rules_file")  # re-read when the worker replaces it (approvals)
credentials = _load("credentials")
lookup = _load("lookup")

REFUSED_PREFIX = "codexweb egress proxy: refused"


class RefusedTunnel(layer.Layer):
    """Takes the place of a raw TCP relay the rules refuse: the client reads one line saying
    why, then both sides are closed. Nothing the client sent reaches the server."""

    def __init__(self, context: Any, message: bytes) -> None:
        super().__init__(context)
        self.message = message
        self.finished = False

    def _handle_event(self, event: Any) -> layer.CommandGenerator[None]:
        if self.finished:
            return
        self.finished = True
        yield commands.SendData(self.context.client, self.message)
        yield commands.CloseConnection(self.context.client)
        if self.context.server.connected:
            yield commands.CloseConnection(self.context.server)


class CodexwebEgress:
    def __init__(self) -> None:
        self.rules: Any = None  # a policy.EgressRules once configured
        self._rules_file: Any = None  # rules_file.RulesFile: `rules`, refreshed per request
        self._lock = threading.Lock()
        self._lookup = lookup.CachedLookup()  # one lookup per name per 30 s (lookup.py)
        # client connection id -> (host, port) its CONNECT tunnel was allowed for
        self._tunnels: dict[str, tuple[str, int]] = {}
        self._allowed_networks: tuple[Any, ...] = ()  # SANDBOX_EGRESS_ALLOW_PRIVATE, parsed
        self._own: frozenset[Any] = frozenset()  # this host's addresses, read at start
        self._via: tuple[str, int] | None = None  # the company proxy in upstream mode
        self._via_tls = False  # ...spoken to over TLS (the trust probe does not do that)
        self._probes: dict[tuple[str, int], asyncio.Task[None]] = {}
        # Credentials added on the way out (credentials.py); none unless the worker gave some.
        self.injector = credentials.Injector((), matches=policy.domain_matches,
                                             same_host=policy.same_host)

    def load(self, loader) -> None:
        loader.add_option("codexweb_rules", str, "", "Path of the egress rules JSON file.")
        loader.add_option("codexweb_log", str, "", "Path of the JSON-lines request record.")
        loader.add_option("codexweb_ready", str, "", "File to write the listening port to.")
        loader.add_option("codexweb_tls_log", str, "", "Path of the JSON-lines TLS failures.")
        loader.add_option(
            "codexweb_probe_ca", str, "", "The sandbox's CA bundle: check passed-through servers."
        )
        loader.add_option("codexweb_credentials", str, "", "Credentials to add (JSON, 0600).")
        loader.add_option("codexweb_credential_log", str, "", "JSON lines: credentials used.")

    def configure(self, updated) -> None:
        if "codexweb_rules" in updated and ctx.options.codexweb_rules:
            self._rules_file = rules_file.RulesFile(
                ctx.options.codexweb_rules, policy.EgressRules.from_file
            )
            self.rules = self._rules_file.current()
            if self.rules is None:  # refuse to run without rules rather than refuse silently
                raise ValueError(self._rules_file.error)
            self._allowed_networks = addresses.parse_networks(self.rules.allow_private)
            self._own = addresses.host_addresses()
        if "codexweb_credentials" in updated and ctx.options.codexweb_credentials:
            self.injector = credentials.Injector(
                credentials.read_file(ctx.options.codexweb_credentials),
                matches=policy.domain_matches,
                same_host=policy.same_host,
            )
        if "mode" in updated:
            self._via = None
            for spec in ctx.options.mode:
                mode = mode_specs.ProxyMode.parse(spec)
                if isinstance(mode, mode_specs.UpstreamMode):
                    self._via = mode.address
                    self._via_tls = mode.scheme == "https"

    def running(self) -> None:
        addrs = ctx.master.addons.get("proxyserver").listen_addrs()
        path = ctx.options.codexweb_ready
        if path and addrs:
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"port": addrs[0][1], "pid": os.getpid()}, f)
            os.replace(tmp, path)

    # -- recording -----------------------------------------------------------------------------

    def _record(
        self, host: str, port: int, method: str, allowed: bool, reason: str, url: str = ""
    ) -> None:
        fields = {"host": host, "port": port, "method": method, "allowed": allowed}
        self._append(ctx.options.codexweb_log, {**fields, "reason": reason, "url": url[:500]})

    def _record_tls_failure(self, host: str, port: int, error: str) -> None:
        self._append(ctx.options.codexweb_tls_log, {"host": host, "port": port, "error": error})

    def _append(self, path: str, fields: dict[str, Any]) -> None:
        """One JSON line `{"at", **fields}` at the end of `path` ("" = not recorded)."""
        if not path:
            return
        line = json.dumps({"at": time.time(), **fields})
        with self._lock, open(path, "a") as f:
            f.write(line + "\n")

    def _refuse(self, flow: http.HTTPFlow, method: str, reason: str, target: str = "") -> None:
        if not target:
            target = (
                f"{flow.request.host}:{flow.request.port}"
                if method == "CONNECT"
                else flow.request.url
            )
        body = f"{REFUSED_PREFIX} {method} {target}: {reason}.\n"
        flow.response = http.Response.make(
            403, body.encode(), {"Content-Type": "text/plain; charset=utf-8", "Connection": "close"}
        )

    async def _decide(
        self, flow: http.HTTPFlow, method: str, tunnel: tuple[str, int] | None = None
    ) -> None:
        host, port = tunnel or (flow.request.host, flow.request.port)
        if self.rules is None:
            decision = policy.Decision(False, "the proxy has no rules loaded")
        elif tunnel is not None:
            decision = self._check_tunnel_request(flow, host)
        else:
            decision = policy.decide(
                self.rules, host, method, port=port, overrides=_overrides(flow),
                upgrade=_upgrade(flow),
            )
            if decision.allowed:  # only names the rules allow are looked up
                why = await self._address_refusal(host, port)
                decision = decision if why is None else policy.Decision(False, why)
        target = self._target(flow, method, tunnel)
        url = target or (f"{host}:{port}" if method == "CONNECT" else flow.request.url)
        self._record(host, port, method, decision.allowed, decision.reason, url.split("?")[0])
        if not decision.allowed:
            self._refuse(flow, method, decision.reason, target)
        elif method == "CONNECT":
            self._tunnels[flow.client_conn.id] = (host, port)
        else:
            self._add_credentials(flow, tunnel)

    def _check_tunnel_request(self, flow: http.HTTPFlow, tunnel_host: str) -> Any:
        """A request inside an allowed tunnel: its host is the tunnel's (whose address is pinned
        by now); under an allowlist, the names the client presents (TLS SNI, Host header) must
        be that host too, so a look-alike cannot ride an allowed tunnel."""
        rules = self.rules
        if rules.mode == "allowlist":
            sni = flow.client_conn.sni if flow.client_conn.tls else None
            # Without SNI (a client naming an IP address) the tunnel must be to that address.
            sni_ok = (
                policy.same_host(sni, tunnel_host)
                if sni
                else policy.is_ip(policy.normalize_host(tunnel_host))
            )
            if flow.client_conn.tls and not sni_ok:
                return policy.Decision(
                    False,
                    f"the TLS server name {sni or '(none)'!r} is not the tunnel's host "
                    f"{tunnel_host!r}",
                )
            named = flow.request.host_header
            if named and not policy.same_host(named, tunnel_host):
                return policy.Decision(
                    False,
                    f"the request's Host {named!r} is not the tunnel's host {tunnel_host!r}",
                )
        return policy.decide(rules, tunnel_host, flow.request.method, overrides=_overrides(flow),
                             upgrade=_upgrade(flow))

    @staticmethod
    def _target(flow: http.HTTPFlow, method: str, tunnel: tuple[str, int] | None) -> str:
        """What the refusal message names: inside a tunnel, the tunnel's host (the request's own
        host is the pinned address by then)."""
        if tunnel is None or method == "CONNECT":
            return ""
        host, port = tunnel
        scheme = "https" if flow.client_conn.tls else "http"
        default = 443 if scheme == "https" else 80
        netloc = host if port == default else f"{host}:{port}"
        return f"{scheme}://{netloc}{flow.request.path}"

    # -- hooks -----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Take the worker's newest rules (an approval added a host; a proxy started ahead got
        its phase's rules: egress/spare.py) before deciding."""
        if self._rules_file is None:
            return
        rules = self._rules_file.current()
        if rules is not None and rules is not self.rules:
            self.rules = rules
            self._allowed_networks = addresses.parse_networks(rules.allow_private)

    # The hooks that may look a name up are coroutines: mitmproxy holds only their own flow
    # while they wait (lookup.py), every other tunnel goes on.

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        self._refresh()
        await self._decide(flow, "CONNECT")

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        self._refresh()
        tunnel = self._tunnels.get(flow.client_conn.id)
        if tunnel is None:  # a plain proxied request: its URL names the destination
            await self._decide(flow, flow.request.method)
            return
        # Plain HTTP, or intercepted HTTPS, inside an allowed CONNECT tunnel.
        await self._decide(flow, flow.request.method, tunnel=tunnel)

    def response(self, flow: http.HTTPFlow) -> None:
        """No form of a credential reaches the sandbox, whatever the server echoes. A server
        switching protocols (101) on its own is judged like a request asking to."""
        self.injector.strip(flow.response)
        if flow.response is not None and flow.response.status_code == 101 and self.rules:
            switched = ", ".join(flow.response.headers.get_all("upgrade")) or "an unnamed protocol"
            refused = policy.upgrade_refusal(self.rules, switched)
            if refused is not None:
                tunnel = self._tunnels.get(flow.client_conn.id)
                host, port = tunnel or (flow.request.host, flow.request.port)
                self._record(host, port, flow.request.method, False, refused.reason,
                             flow.request.url.split("?")[0])
                self._refuse(flow, flow.request.method, refused.reason,
                             self._target(flow, flow.request.method, tunnel))

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is not None and flow.websocket.messages:
            self.injector.strip_message(flow.websocket.messages[-1])

    def _add_credentials(self, flow: http.HTTPFlow, tunnel: tuple[str, int] | None) -> None:
        for used in self.injector.add_to(flow, tunnel):
            host = tunnel[0] if tunnel else flow.request.host
            self._append(ctx.options.codexweb_credential_log, {"id": used.id, "host": host})

    def client_disconnected(self, client) -> None:  # noqa: ANN001
        self._tunnels.pop(client.id, None)

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """Inside an allowed tunnel, let mitmproxy's own NextLayer addon pick the protocol (it
        runs after this script, so it is asked here first); when that is raw TCP — neither TLS
        nor HTTP — `policy.raw_tunnel_decision` says whether it may pass."""
        tunnel = self._tunnels.get(nextlayer.context.client.id)
        if nextlayer.layer is not None or tunnel is None or self.rules is None:
            return
        ctx.master.addons.get("nextlayer").next_layer(nextlayer)
        chosen = nextlayer.layer
        if not isinstance(chosen, TCPLayer) or chosen.flow is None:
            return  # TLS, HTTP, not decided yet, or an ignored (passed-through) connection
        host, port = tunnel
        decision = policy.raw_tunnel_decision(self.rules, port)
        self._record(host, port, "TCP", decision.allowed, decision.reason)
        if not decision.allowed:
            nextlayer.context.layers.remove(chosen)
            message = f"{REFUSED_PREFIX} TCP {host}:{port}: {decision.reason}.\n"
            nextlayer.layer = RefusedTunnel(nextlayer.context, message.encode())

    async def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        tunnel = self._tunnels.get(data.context.client.id)
        intercept = self.rules is not None and (
            self.rules.intercept_tls or (tunnel is not None and self.injector.intercepts(tunnel[0]))
        )
        if not intercept or tunnel is None:
            # Passthrough: the tunnel's host was already decided at CONNECT.
            data.ignore_connection = True
            if tunnel is not None and _has_content(ctx.options.codexweb_probe_ca):
                # Before the client's hello goes on, so the record exists by the time the
                # client could have failed.
                await self._probe(tunnel, data.context.server)
            return
        # Intercept. Upstream TLS names (SNI) and verifies the host the tunnel was allowed for,
        # whatever name the client put in its hello; `request` refuses a mismatch.
        data.context.server.sni = tunnel[0]

    async def _probe(self, tunnel: tuple[str, int], server: Any) -> None:
        """Check once per host and port whether the sandbox trusts the server's certificate
        (see tlsprobe.py); the check records the reason when it does not."""
        task = self._probes.get(tunnel)
        if task is None:
            address = None if server.error else server.address  # refused: nothing to check
            task = asyncio.ensure_future(self._check_trust(tunnel, address))
            self._probes[tunnel] = task
        await asyncio.shield(task)  # a client giving up does not cancel the check

    async def _check_trust(self, tunnel: tuple[str, int], address: Any) -> None:
        host, port = tunnel
        if self._via is not None and self._via_tls:
            return
        reason = await tlsprobe.untrusted_reason(
            host,
            port,
            cafile=ctx.options.codexweb_probe_ca,
            address=None if self._via else address,
            via=self._via,
            via_auth=ctx.options.upstream_auth,
        )
        if reason:
            self._record_tls_failure(host, port, reason)

    def tls_failed_server(self, data: tls.TlsData) -> None:
        """Interception's own upstream handshake failed (e.g. a certificate none of the proxy's
        trusted CAs signed): record it with the tunnel's host."""
        tunnel = self._tunnels.get(data.context.client.id)
        if tunnel is None:
            return
        self._record_tls_failure(tunnel[0], tunnel[1], str(data.conn.error or "TLS failed"))

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Every upstream connection: resolve, check every address, pin the first. The request
        or tunnel was checked the same way already (for a 403 that says why); this check is the
        one that holds, on the address actually connected to."""
        if data.server.address is None or self.rules is None:
            return
        if self._via is not None:
            # Every connection goes to the company proxy; the destination was checked when
            # the request was decided (`_decide` → `_address_refusal`).
            return
        host, port = data.server.address
        name = policy.normalize_host(host)
        try:
            candidates, target_port = await self._resolve(name, port)
        except OSError as exc:
            data.server.error = f"{REFUSED_PREFIX}: cannot resolve {name!r} ({exc})"
            return
        why = self._refusal_of(name, candidates)
        if why is not None:
            self._record(name, port, "-", False, why)
            data.server.error = f"{REFUSED_PREFIX} {name}: {why}"
            return
        # Pin the checked address so a second lookup cannot point somewhere else.
        data.server.address = (candidates[0], target_port)

    async def _resolve(self, name: str, port: int) -> tuple[list[str], int]:
        """(addresses, port) to connect to for `name`:`port`; OSError when it does not resolve."""
        assert self.rules is not None
        mapped = policy.resolve_target(self.rules.resolve, name, port)
        if mapped:  # tests only: a name mapped to "ip:port", checked like a resolved one
            mhost, _, mport = mapped.rpartition(":")
            return [policy.normalize_host(mhost)], int(mport)
        return await self._lookup.addresses_async(name), port

    async def _address_refusal(self, host: str, port: int) -> str | None:
        """Why `host` may not be reached (one of its addresses is not public), or None. A name
        that does not resolve is left to `server_connect`, which says so."""
        name = policy.normalize_host(host)
        try:
            candidates, _ = await self._resolve(name, port)
        except OSError:
            return None
        return self._refusal_of(name, candidates)

    def _refusal_of(self, name: str, candidates: list[str]) -> str | None:
        for address in candidates:
            why = addresses.refusal(
                address.split("%", 1)[0], allowed=self._allowed_networks, own=self._own
            )
            if why is not None:
                said = (
                    f"{address} is"
                    if policy.same_host(name, address)
                    else f"{name} resolves to {address},"
                )
                return f"{said} {why}; sandboxes reach public addresses only"
        return None


def _upgrade(flow: http.HTTPFlow) -> str:
    """The protocols the request asks to switch to ("" when it asks for none)."""
    return ", ".join(flow.request.headers.get_all("upgrade"))


def _overrides(flow: http.HTTPFlow) -> list[tuple[str, str]]:
    return policy.method_overrides(flow.request.headers.items(multi=True))


addons = [CodexwebEgress()]
