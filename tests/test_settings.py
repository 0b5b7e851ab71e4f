"""Settings come from TAKEDOWN_* variables or .env, in the forms the design names."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from settings import DEFAULT_CATEGORIES, Settings


def test_defaults_are_the_embedded_setup() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///takedown.db"
    assert settings.categories == list(DEFAULT_CATEGORIES)
    assert settings.smtp_url is None and settings.probe_allowed_networks == []


def test_comma_separated_values_are_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAKEDOWN_DNS_NAMESERVERS", "127.0.0.1:5353, 127.0.0.2")
    monkeypatch.setenv(
        "TAKEDOWN_WHOIS_SERVERS",
        "bz=127.0.0.1:4343,ip=127.0.0.1:4344,whois.Registrar.example=127.0.0.1:4345",
    )
    monkeypatch.setenv("TAKEDOWN_PROBE_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    monkeypatch.setenv("TAKEDOWN_CATEGORIES", "A,B")
    settings = Settings()
    assert settings.dns_nameservers == ["127.0.0.1:5353", "127.0.0.2"]
    assert settings.whois_servers == {
        "bz": "127.0.0.1:4343",
        "ip": "127.0.0.1:4344",
        "whois.registrar.example": "127.0.0.1:4345",
    }
    assert settings.probe_allowed_networks == ["127.0.0.0/8", "::1/128"]
    assert settings.categories == ["A", "B"]


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TAKEDOWN_SMTP_URL=smtp://127.0.0.1:2525\nTAKEDOWN_OUTBOX_DIR=mail\n"
    )
    settings = Settings()
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value() == "smtp://127.0.0.1:2525"
    assert "2525" not in repr(settings)  # secrets stay out of logs
    assert settings.outbox_dir == Path("mail")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TAKEDOWN_PROBE_ALLOWED_NETWORKS", "10.0.0.0/33"),
        ("TAKEDOWN_WHOIS_SERVERS", "=127.0.0.1:43"),
        ("TAKEDOWN_CATEGORIES", " , "),
        ("TAKEDOWN_WEB_REQUEST_THREADS", "0"),
        ("TAKEDOWN_WEB_REQUEST_THREADS", "many"),
    ],
)
def test_malformed_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
