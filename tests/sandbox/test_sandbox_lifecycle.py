"""A notice over SMTP changes the world over the wire: removal, suspension, move, inspection."""

from __future__ import annotations

import json
import smtplib
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import httpx
import pytest

from sandbox.testing import ManualClock, SandboxHandle, running_sandbox
from sandbox.world.model import World

pytestmark = pytest.mark.network
TIMEOUT = 5.0


def _send(sandbox: SandboxHandle, to: str, url: str, *, xarf: bool = False) -> None:
    message = EmailMessage()
    message["From"] = "notices@hotline.example"
    message["To"] = to
    message["Subject"] = "Notice of child sexual abuse material"
    defanged = url.replace("http://", "hxxp://").replace(".", "[.]", 1)
    message.set_content(f"Please remove: {defanged}\n")
    if xarf:
        message.add_attachment(
            json.dumps({"Source": {"Url": url}}).encode(),
            maintype="application",
            subtype="json",
            filename="report.json",
        )
    with smtplib.SMTP("127.0.0.1", sandbox.ports.smtp, timeout=TIMEOUT) as smtp:
        smtp.send_message(message)


def _get(sandbox: SandboxHandle, url: str, address: str) -> int:
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3]
    with httpx.Client(timeout=TIMEOUT) as client:
        response = client.get(
            f"http://{address}:{sandbox.ports.content}{path}", headers={"Host": host}
        )
    return response.status_code


def _rcode(sandbox: SandboxHandle, name: str) -> int:
    query = dns.message.make_query(name, "A")
    return dns.query.udp(query, "127.0.0.1", port=sandbox.ports.dns, timeout=TIMEOUT).rcode()


def test_notice_received_then_content_removed(lively: SandboxHandle, clock: ManualClock) -> None:
    url = lively.url("files.example-host.bz/a/1001.bin")
    _send(lively, "abuse@hostingbz.example", url, xarf=True)
    assert lively.mailbox("abuse@hostingbz.example")[0]["urls"] == [url]
    assert _get(lively, url, "127.16.0.10") == 200
    clock.advance(5)
    assert _get(lively, url, "127.16.0.10") == 410
    with httpx.Client(timeout=TIMEOUT) as client:
        shown = client.get(
            f"{lively.env['TAKEDOWN_SANDBOX_INSPECT']}/urls", params={"state": "removed"}
        ).json()
        events = client.get(f"{lively.env['TAKEDOWN_SANDBOX_INSPECT']}/events").json()
    assert [u["url"] for u in shown["urls"]] == [url]
    assert shown["urls"][0]["http_status"] == 410
    assert events["events"][0]["event"] == "removed"


def test_registrar_suspension_turns_into_nxdomain(
    lively: SandboxHandle, clock: ManualClock
) -> None:
    url = lively.url("files.prairie-files.com/p/7001.bin")
    assert _rcode(lively, "files.prairie-files.com") == dns.rcode.NOERROR
    _send(lively, "abuse@registrar-one.example", url)
    clock.advance(15)
    assert _rcode(lively, "files.prairie-files.com") == dns.rcode.NXDOMAIN
    assert lively.url_state(url)["state"] == "suspended"
    with httpx.Client(timeout=TIMEOUT) as client:
        rdap = client.get(
            f"http://127.0.0.1:{lively.ports.rdap}/registry/com/domain/prairie-files.com"
        )
    assert rdap.json()["status"] == ["client hold"]


def test_moved_content_answers_at_the_new_provider(
    lively: SandboxHandle, clock: ManualClock
) -> None:
    url = lively.url("dl.cayman-share.ky/f/4001.bin")
    _send(lively, "abuse@caymancloud.example", url)
    clock.advance(8)
    query = dns.message.make_query("dl.cayman-share.ky", "A")
    answer = dns.query.udp(query, "127.0.0.1", port=lively.ports.dns, timeout=TIMEOUT)
    assert [r.address for r in answer.answer[0]] == ["127.21.0.1"]
    assert _get(lively, url, "127.18.0.10") == 404
    assert _get(lively, url, "127.21.0.1") == 200
    state = lively.url_state(url)
    assert (state["state"], state["moved_to"]) == ("moved", "ushost")


def test_mail_to_a_mailbox_the_url_does_not_concern_changes_nothing(
    lively: SandboxHandle, clock: ManualClock
) -> None:
    url = lively.url("files.example-host.bz/a/1001.bin")
    _send(lively, "cse-referrals@police.example", url)
    clock.advance(3600)
    assert lively.url_state(url)["state"] == "served"
    assert len(lively.mailbox("cse-referrals@police.example")) == 1


def test_mail_is_kept_as_eml_files_one_per_mailbox_when_asked(
    example_world: World, tmp_path: Path
) -> None:
    spool = tmp_path / "mail"
    with running_sandbox(example_world, mail_dir=spool) as sandbox:
        url = sandbox.url("files.example-host.bz/a/1001.bin")
        _send(sandbox, "abuse@hostingbz.example, abuso@registros-caribe.example", url)
        _send(sandbox, "abuse@hostingbz.example", url)
    files = sorted(path.name for path in spool.iterdir())
    assert files == [
        "0001-abuse@hostingbz.example.eml",
        "0001-abuso@registros-caribe.example.eml",
        "0002-abuse@hostingbz.example.eml",
    ]
    kept = message_from_bytes((spool / files[0]).read_bytes())
    assert kept["Subject"] == "Notice of child sexual abuse material"


def test_mail_is_kept_in_memory_only_by_default(lively: SandboxHandle, tmp_path: Path) -> None:
    _send(lively, "abuse@hostingbz.example", lively.url("files.example-host.bz/a/1001.bin"))
    assert not any(lively.workdir.rglob("*.eml"))
