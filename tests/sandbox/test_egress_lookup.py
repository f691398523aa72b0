"""The egress proxy's name lookups (tasks/sandbox/egress/lookup.py): its hooks run on one event
loop, so a lookup the host's resolver answers late held every tunnel of the sandbox. With npm's
15 tunnels at once each batch waited glibc's 5 s timeout (an install crawled at ~12 s per
batch). A name is now looked up once per 30 s, by one caller at a time, and the proxy's hooks
await it in a thread: a slow name holds only the tunnels that wait for it."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time

import pytest

from tasks.sandbox.egress.lookup import CachedLookup
from tests.support.egress_client import (  # noqa: F401 — fixtures, found by name
    LOOPBACK,
    egress_proxy,
    open_tunnel,
    web_target,
)
from tests.support.resolver import Clock, Resolver


def test_fifteen_tunnels_at_once_cost_one_lookup():
    resolver = Resolver({"registry.npmjs.org": ["203.0.113.80"]}, delay=0.2)
    cached = CachedLookup(resolver)
    answers: list[list[str]] = []
    threads = [threading.Thread(target=lambda: answers.append(
        cached.addresses("registry.npmjs.org"))) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [["203.0.113.80"]] * 15
    assert resolver.calls == ["registry.npmjs.org"]


def test_an_answer_is_used_for_its_time_then_looked_up_again():
    resolver = Resolver({"pypi.org": ["203.0.113.80"]})
    clock = Clock()
    cached = CachedLookup(resolver, ttl=30, clock=clock)
    assert cached.addresses("pypi.org") == ["203.0.113.80"]
    clock.now += 29
    resolver.answers["pypi.org"] = ["151.101.0.223"]
    assert cached.addresses("pypi.org") == ["203.0.113.80"]  # the decision and the pin agree
    clock.now += 2
    assert cached.addresses("pypi.org") == ["151.101.0.223"]
    assert resolver.calls == ["pypi.org", "pypi.org"]


def test_a_name_that_does_not_resolve_is_remembered_briefly():
    resolver = Resolver({})
    clock = Clock()
    cached = CachedLookup(resolver, failure_ttl=5, clock=clock)
    for _ in range(3):
        with pytest.raises(OSError, match="not known"):
            cached.addresses("nowhere.test")
    assert resolver.calls == ["nowhere.test"]
    clock.now += 6
    resolver.answers["nowhere.test"] = ["198.51.100.7"]
    assert cached.addresses("nowhere.test") == ["198.51.100.7"]


def test_names_are_looked_up_each_on_its_own():
    resolver = Resolver({"a.test": ["192.0.2.1"], "b.test": ["192.0.2.2"]})
    cached = CachedLookup(resolver)
    assert cached.addresses("a.test") == ["192.0.2.1"]
    assert cached.addresses("b.test") == ["192.0.2.2"]
    assert resolver.calls == ["a.test", "b.test"]


def test_a_callers_copy_cannot_change_the_kept_answer():
    cached = CachedLookup(Resolver({"a.test": ["192.0.2.1"]}))
    cached.addresses("a.test").append("127.0.0.1")
    assert cached.addresses("a.test") == ["192.0.2.1"]


def test_on_an_event_loop_a_slow_name_holds_only_its_own_callers():
    resolver = Resolver({"slow.test": ["192.0.2.1"], "fast.test": ["192.0.2.2"]})
    slow = threading.Event()
    real = resolver.__call__

    def resolve(name: str) -> list[str]:
        if name == "slow.test":
            slow.wait(10)  # answered once the fast name was served
        return real(name)

    cached = CachedLookup(resolve)
    finished: list[str] = []

    async def ask(name: str) -> list[str]:
        answer = await cached.addresses_async(name)
        finished.append(name)
        if name == "fast.test":
            slow.set()
        return answer

    async def main() -> list[list[str]]:
        return await asyncio.gather(ask("slow.test"), ask("slow.test"), ask("fast.test"))

    answers = asyncio.run(main())
    assert answers == [["192.0.2.1"], ["192.0.2.1"], ["192.0.2.2"]]
    assert finished == ["fast.test", "slow.test", "slow.test"]
    # (`calls` is written once the slow name is answered: after the fast one.)
    assert resolver.calls == ["fast.test", "slow.test"]  # the two slow callers shared one lookup
    assert asyncio.run(cached.addresses_async("slow.test")) == ["192.0.2.1"]  # kept
    assert resolver.calls == ["fast.test", "slow.test"]


# Runs inside the proxy's mitmdump (PYTHONPATH): this host's resolver answers `slow.test` after
# 2 seconds and `fast.test` at once, both with the loopback test server's address.
SLOW_RESOLVER = """
import socket, time
_real = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    if host == "slow.test":
        time.sleep(2)
    if host in ("slow.test", "fast.test"):
        host = "127.0.0.1"
    return _real(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
"""


def test_a_slow_lookup_in_the_proxy_holds_only_its_own_tunnel(
    egress_proxy, web_target, tmp_path, monkeypatch  # noqa: F811
):
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(SLOW_RESOLVER))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    proxy = egress_proxy(mode="on", allow_private=LOOPBACK)
    port = int(web_target.address.rpartition(":")[2])
    finished: list[str] = []
    replies: dict[str, str] = {}

    def tunnel(name: str) -> None:
        sock, head = open_tunnel(proxy, name, port)
        sock.close()
        replies[name] = head
        finished.append(name)

    slow = threading.Thread(target=tunnel, args=("slow.test",))
    slow.start()
    time.sleep(0.5)  # the slow lookup is under way (ordering, not a bound)
    tunnel("fast.test")
    slow.join(timeout=30)
    assert replies["fast.test"].startswith("HTTP/1.1 200"), replies
    assert replies["slow.test"].startswith("HTTP/1.1 200"), replies
    assert finished == ["fast.test", "slow.test"]
