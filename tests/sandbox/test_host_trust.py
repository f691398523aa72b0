"""Working behind a network that intercepts everything, with no setting changed: this host's
added CAs are trusted in sandboxes (SANDBOX_TRUST_HOST_CAS), and the gateway public names resolve
to here is reachable (SANDBOX_EGRESS_GATEWAY_NAMES), while loopback, link-local and this host's
own addresses stay refused whatever a name resolves to. No Docker needed: what the sandbox does
with `extra_ca_pem` and `allow_private` is covered by test_corporate_network.py and the egress
tests."""

from __future__ import annotations

import ipaddress
import time

import pytest
from cryptography import x509

from tasks.sandbox.base import SandboxOwner, SandboxSpec
from tasks.sandbox.egress.gateway import DetectedGateway, detect_gateway
from tasks.sandbox.trust import host_added_cas, merge_certificates, split_certificates
from tasks.worker import sandbox_settings
from tests.support.egress_target import company_ca, issued_certificate
from tests.support.resolver import Clock, Resolver


@pytest.fixture(scope="module")
def ca_pem() -> str:
    return company_ca()[0].decode()


def test_the_hosts_added_cas_are_read_each_once_and_bad_files_skipped(tmp_path, ca_pem):
    (tmp_path / "company").mkdir()
    (tmp_path / "company" / "proxy-ca.crt").write_text(ca_pem)
    (tmp_path / "again.crt").write_text(ca_pem)  # the same CA under two names
    (tmp_path / "key.crt").write_text(ca_pem + company_ca()[1].decode())  # never copied
    (tmp_path / "broken.crt").write_text("-----BEGIN CERTIFICATE-----\nnope\n"
                                         "-----END CERTIFICATE-----\n")
    (tmp_path / "notes.txt").write_text(issued_certificate("x.test", company_ca())[0].decode())

    pem = host_added_cas(tmp_path)

    assert split_certificates(pem) == split_certificates(ca_pem)


def test_no_folder_means_no_extra_ca(tmp_path):
    assert host_added_cas(tmp_path / "absent") == ""


def test_the_hosts_added_cas_are_read_again_only_when_the_folder_changes(tmp_path, ca_pem,
                                                                         monkeypatch):
    other = issued_certificate("mirror.test", company_ca())[0].decode()
    parsed: list[bytes] = []
    load = x509.load_pem_x509_certificate

    def counting_load(data: bytes, *args, **kwargs):
        parsed.append(data)
        return load(data, *args, **kwargs)

    monkeypatch.setattr(x509, "load_pem_x509_certificate", counting_load)
    (tmp_path / "proxy-ca.crt").write_text(ca_pem)

    assert split_certificates(host_added_cas(tmp_path)) == split_certificates(ca_pem)
    assert split_certificates(host_added_cas(tmp_path)) == split_certificates(ca_pem)
    assert len(parsed) == 1  # the second attempt parsed nothing

    (tmp_path / "mirror.crt").write_text(other)  # added while the worker runs: seen at once
    assert split_certificates(host_added_cas(tmp_path)) == (
        split_certificates(other) + split_certificates(ca_pem))
    (tmp_path / "proxy-ca.crt").write_text(other)  # replaced in place
    assert split_certificates(host_added_cas(tmp_path)) == split_certificates(other)
    (tmp_path / "mirror.crt").unlink()
    (tmp_path / "proxy-ca.crt").unlink()  # removed
    assert host_added_cas(tmp_path) == ""


def test_the_operators_file_and_the_hosts_cas_are_merged_without_repeats(ca_pem):
    other = issued_certificate("mirror.test", company_ca())[0].decode()
    merged = merge_certificates(ca_pem, other + ca_pem)
    assert split_certificates(merged) == split_certificates(ca_pem) + split_certificates(other)


def test_a_sandbox_trusts_the_hosts_added_cas_by_default(settings, tmp_path, ca_pem,
                                                        monkeypatch):
    (tmp_path / "proxy-ca.crt").write_text(ca_pem)
    monkeypatch.setattr("tasks.sandbox.trust.HOST_ADDED_CAS", tmp_path)
    spec = SandboxSpec(owner=SandboxOwner.attempt(1), image="", workspace=tmp_path)

    settings.SANDBOX_TRUST_HOST_CAS = True
    assert split_certificates(sandbox_settings.spec_from_settings(spec).extra_ca_pem) == (
        split_certificates(ca_pem))
    settings.SANDBOX_TRUST_HOST_CAS = False
    assert sandbox_settings.spec_from_settings(spec).extra_ca_pem == ""


def test_public_names_resolving_to_a_private_kind_address_name_the_gateway():
    resolve = Resolver({"pypi.org": ["203.0.113.80", "203.0.113.80"],
                        "registry.npmjs.org": ["10.1.2.3", "fd00::5"]})
    networks = detect_gateway(["pypi.org", "registry.npmjs.org", "gone.test"],
                              resolve=resolve).networks
    assert sorted(networks) == ["10.1.2.3/32", "203.0.113.80/32", "fd00::5/128"]


def test_a_normal_network_has_no_gateway():
    resolve = Resolver({"pypi.org": ["151.101.0.223", "2a04:4e42::223"]})
    assert detect_gateway(["pypi.org"], resolve=resolve).networks == ()


@pytest.mark.parametrize("address", [
    "127.0.0.1", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "224.0.0.1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
])
def test_a_name_resolving_to_loopback_or_metadata_never_opens_it(address):
    resolve = Resolver({"pypi.org": [address]})
    assert detect_gateway(["pypi.org"], resolve=resolve).networks == ()


def test_this_hosts_own_address_is_never_the_gateway():
    own = {ipaddress.ip_address("10.0.0.5")}
    resolve = Resolver({"pypi.org": ["10.0.0.5"]})
    assert detect_gateway(["pypi.org"], resolve=resolve, own=own).networks == ()


def test_a_resolver_that_does_not_answer_costs_a_bounded_wait():
    def stuck(name: str) -> list[str]:
        time.sleep(5)
        return ["203.0.113.80"]

    started = time.monotonic()
    detection = detect_gateway(["a.test", "b.test", "c.test"], resolve=stuck, timeout=0.3)
    waited = time.monotonic() - started
    assert detection.networks == () and not detection.answered
    print(f"waited {waited:.2f} s for three stuck lookups")  # bounded by 3 × 0.3 s at most
    assert waited < 5  # not the lookups' 5 s: they are left behind


def test_the_worker_adds_the_detected_gateway_to_the_operators_networks(settings, monkeypatch):
    resolve = Resolver({"pypi.org": ["203.0.113.80"]})
    monkeypatch.setattr(sandbox_settings, "_gateway", DetectedGateway(resolve=resolve))
    settings.SANDBOX_EGRESS_ALLOW_PRIVATE = ("10.20.0.0/16",)
    settings.SANDBOX_EGRESS_GATEWAY_NAMES = ["pypi.org"]
    assert sandbox_settings.docker_config().allow_private == ("10.20.0.0/16", "203.0.113.80/32")
    assert sandbox_settings.docker_config().allow_private == ("10.20.0.0/16", "203.0.113.80/32")
    settings.SANDBOX_EGRESS_GATEWAY_NAMES = []
    assert sandbox_settings.docker_config().allow_private == ("10.20.0.0/16",)
    assert resolve.calls == ["pypi.org"]  # looked up once per process, none when turned off


def test_a_detection_the_resolver_did_not_answer_is_tried_again_after_a_minute():
    resolve = Resolver({})  # the resolver is down: every name fails
    clock = Clock()
    gateway = DetectedGateway(resolve=resolve, retry_seconds=60, clock=clock)
    assert gateway.networks(("pypi.org",)) == ()
    clock.now += 30
    assert gateway.networks(("pypi.org",)) == ()
    assert resolve.calls == ["pypi.org"]  # not asked again within the minute

    resolve.answers["pypi.org"] = ["10.1.2.3"]  # the resolver is up now
    clock.now += 31
    assert gateway.networks(("pypi.org",)) == ("10.1.2.3/32",)

    resolve.answers.clear()  # down again: the answer it gave is kept for good
    clock.now += 3600
    assert gateway.networks(("pypi.org",)) == ("10.1.2.3/32",)
    assert resolve.calls == ["pypi.org", "pypi.org"]


def test_public_answers_mean_no_gateway_for_good():
    resolve = Resolver({"pypi.org": ["151.101.0.223"]})
    clock = Clock()
    gateway = DetectedGateway(resolve=resolve, retry_seconds=60, clock=clock)
    assert gateway.networks(("pypi.org",)) == ()
    clock.now += 3600
    assert gateway.networks(("pypi.org",)) == ()
    assert resolve.calls == ["pypi.org"]
