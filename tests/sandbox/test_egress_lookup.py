"""The egress proxy's name lookups (tasks/sandbox/egress/lookup.py): its hooks run on one event
loop, so a lookup the host's resolver answers late held every tunnel of the sandbox. With npm's
15 tunnels at once each batch waited glibc's 5 s timeout (an install crawled at ~12 s per
batch). A name is now looked up once per 30 s, by one caller at a time."""

from __future__ import annotations

import threading

import pytest

from tasks.sandbox.egress.lookup import CachedLookup
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
