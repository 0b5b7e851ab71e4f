"""Clients nobody on this project wrote talk to the sandbox: dig, whois, curl, smtplib."""

from __future__ import annotations

import hashlib
import json
import smtplib
import subprocess

import pytest

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import require

pytestmark = pytest.mark.network
CLIENT_TIMEOUT = 20  # seconds any one client run may take


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
    return done.stdout


def _dig(served: SandboxHandle, *query: str) -> str:
    dig = require("dig")
    return _run(dig, "@127.0.0.1", "-p", str(served.ports.dns), "+time=2", "+tries=1", *query)


def test_dig_follows_a_cname_chain_to_the_address(served: SandboxHandle) -> None:
    answer = _dig(served, "www.example-host.bz", "A", "+short").split()
    assert answer == ["files.example-host.bz.", "127.16.0.10"]


def test_dig_over_tcp_and_the_other_record_types(served: SandboxHandle) -> None:
    assert _dig(served, "+tcp", "files.prairie-files.com", "A", "+short").split() == ["127.21.0.10"]
    assert _dig(served, "example-host.bz", "TXT", "+short").strip() == '"v=spf1 -all"'
    assert sorted(_dig(served, "example-host.bz", "NS", "+short").split()) == [
        "ns1.hostingbz.example.",
        "ns2.hostingbz.example.",
    ]
    assert _dig(served, "-x", "127.16.0.10", "+short").split() == [
        "ip-127-16-0-10.hostingbz.example."
    ]
    chain = _dig(served, "www.shielded-site.com", "A", "+short").split()
    assert chain[-1] == "127.40.0.10"


def test_dig_sees_nxdomain_and_servfail_where_the_world_says(served: SandboxHandle) -> None:
    assert "status: NXDOMAIN" in _dig(served, "nothing-here.bz", "A")
    assert "status: SERVFAIL" in _dig(served, "files.broken-dns.bz", "A")
    assert "flags: qr rd ra" in _dig(served, "files.example-host.bz", "A")


def test_whois_gets_a_registrar_record_from_a_thick_registry(served: SandboxHandle) -> None:
    whois = require("whois")
    port = served.ports.whois["whois.registry-bz.example"]
    text = _run(whois, "-h", "127.0.0.1", "-p", str(port), "example-host.bz")
    assert "Registrar: Registros Caribe S.A." in text
    assert "Registrar Abuse Contact Email: abuso@registros-caribe.example" in text


def test_whois_thin_registry_names_the_registrar_server_which_has_the_abuse_contact(
    served: SandboxHandle,
) -> None:
    whois = require("whois")
    registry = served.ports.whois["whois.registry-com.example"]
    thin = _run(whois, "-h", "127.0.0.1", "-p", str(registry), "prairie-files.com")
    assert "Registrar WHOIS Server: whois.registrar-one.example" in thin
    assert "Abuse Contact Email" not in thin
    registrar = served.ports.whois["whois.registrar-one.example"]
    full = _run(whois, "-h", "127.0.0.1", "-p", str(registrar), "prairie-files.com")
    assert "Registrar Abuse Contact Email: abuse@registrar-one.example" in full


def test_whois_rir_answers_in_its_own_layout(served: SandboxHandle) -> None:
    whois = require("whois")
    ripe = served.ports.whois["whois.rir-eu.example"]
    text = _run(whois, "-h", "127.0.0.1", "-p", str(ripe), "127.19.0.10")
    assert "abuse-mailbox:  abuse@albionhosting.example" in text
    remarks_only = _run(whois, "-h", "127.0.0.1", "-p", str(ripe), "127.20.0.10")
    assert "abuse-mailbox" not in remarks_only
    assert "remarks:        Please send abuse notification to misbruik@polderhosting" in (
        remarks_only
    )


def test_curl_gets_rdap_json(served: SandboxHandle) -> None:
    curl = require("curl")
    base = f"http://127.0.0.1:{served.ports.rdap}"
    body = _run(
        curl,
        "-s",
        "-H",
        "Accept: application/rdap+json",
        f"{base}/registry/bz/domain/example-host.bz",
    )
    domain = json.loads(body)
    assert domain["objectClassName"] == "domain"
    registrar = domain["entities"][0]
    assert "registrar" in registrar["roles"]
    abuse = registrar["entities"][0]
    assert abuse["roles"] == ["abuse"]
    assert ["email", {}, "text", "abuso@registros-caribe.example"] in abuse["vcardArray"][1]


def test_curl_gets_the_content_bytes_with_the_world_digest(served: SandboxHandle) -> None:
    curl = require("curl")
    world_url = served.world.urls[0]
    url = served.url(world_url.key)
    port = served.ports.content
    done = subprocess.run(
        [curl, "-s", "--resolve", f"{world_url.host}:{port}:127.16.0.10", url],
        capture_output=True,
        timeout=CLIENT_TIMEOUT,
    )
    assert hashlib.sha256(done.stdout).hexdigest() == world_url.sha256


def test_smtplib_delivers_and_the_inspection_shows_it(served: SandboxHandle) -> None:
    curl = require("curl")
    with smtplib.SMTP("127.0.0.1", served.ports.smtp, timeout=CLIENT_TIMEOUT) as smtp:
        smtp.sendmail(
            "notices@hotline.example",
            ["abuse@prairiedc.example"],
            "Subject: Notice 1\r\n\r\nhxxp://files.prairie-files[.]com:8080/p/7001.bin\r\n",
        )
    inspect = served.env["TAKEDOWN_SANDBOX_INSPECT"]
    shown = json.loads(_run(curl, "-s", f"{inspect}/mailboxes/abuse@prairiedc.example"))
    assert [m["subject"] for m in shown["messages"]] == ["Notice 1"]
    assert shown["messages"][0]["urls"] == [served.url("files.prairie-files.com/p/7001.bin")]


def test_smtp_refuses_unknown_recipients_with_550(served: SandboxHandle) -> None:
    with (
        smtplib.SMTP("127.0.0.1", served.ports.smtp, timeout=CLIENT_TIMEOUT) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        smtp.sendmail("notices@hotline.example", ["nobody@nowhere.example"], "Subject: x\r\n\r\nx")
    assert refused.value.recipients["nobody@nowhere.example"][0] == 550
