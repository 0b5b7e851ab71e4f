"""A throw-away Dovecot IMAP server on 127.0.0.1, TLS only, serving one user's Maildir.

Debian's ``dovecot-imapd``; started in a temporary folder with its own configuration, a
self-signed certificate for 127.0.0.1 and a password file, and stopped (folder removed) at the
end. Under root the mail processes run as the ``dovecot`` user (Dovecot refuses mail access as
root), so the folder is handed to it.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOVECOT = "/usr/sbin/dovecot"
USER = "hotline"
PASSWORD = "inbox-secret"


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed, or would not start."""


def installed() -> bool:
    return Path(DOVECOT).exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _certificate(root: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = root / "cert.pem", root / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TemporaryDovecot:
    """``TemporaryDovecot().start()``: IMAPS on ``port``, ``maildir`` is the user's folder."""

    def __init__(self) -> None:
        if not installed():
            raise DovecotUnavailable(f"{DOVECOT} not found; install Debian's dovecot-imapd")
        self.root = Path(tempfile.mkdtemp(prefix="takedown-dovecot-"))
        self.port = _free_port()
        self.maildir = self.root / "home" / USER / "Maildir"
        self.as_root = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid())
        mail_user = pwd.getpwnam("dovecot") if self.as_root else me
        self.uid, self.gid = mail_user.pw_uid, mail_user.pw_gid
        self.internal_user = "dovecot" if self.as_root else me.pw_name
        self.login_user = "dovenull" if self.as_root else me.pw_name
        self.cert, self.key = _certificate(self.root)

    @property
    def url(self) -> str:
        return f"imaps://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def _config(self) -> Path:
        root = self.root
        (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
        config = f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{self.key}
auth_mechanisms = plain
default_internal_user = {self.internal_user}
default_login_user = {self.login_user}
first_valid_uid = {self.uid}
last_valid_uid = {self.uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        path = root / "dovecot.conf"
        path.write_text(config, encoding="utf-8")
        return path

    def start(self) -> TemporaryDovecot:
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        config = self._config()
        if self.as_root:
            os.chmod(self.root, 0o755)
            for path in [self.root / "home", *(self.root / "home").rglob("*")]:
                shutil.chown(path, user=self.uid, group=self.gid)
        # Its output goes to a file: the daemon keeps inherited pipes open, so a pipe would
        # never reach end of file.
        with open(self.root / "start.log", "wb") as output:
            completed = subprocess.run(
                [DOVECOT, "-c", str(config)], stdout=output, stderr=output, check=False
            )
        if completed.returncode != 0:
            said = (self.root / "start.log").read_text(errors="replace").strip()[-2000:]
            self.stop()
            raise DovecotUnavailable(f"dovecot would not start: {said}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return self
            time.sleep(0.1)
        log = (self.root / "dovecot.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise DovecotUnavailable(f"dovecot did not listen on {self.port}: {log}")

    def hand_over(self, path: Path) -> None:
        """Give a file written into the Maildir to the mail user."""
        if self.as_root:
            shutil.chown(path, user=self.uid, group=self.gid)

    def stop(self) -> None:
        config = self.root / "dovecot.conf"
        if config.exists():
            subprocess.run(
                [DOVECOT, "-c", str(config), "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            time.sleep(0.3)
        shutil.rmtree(self.root, ignore_errors=True)
