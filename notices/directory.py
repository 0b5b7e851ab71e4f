"""The partner directory: who we are, whom we refer to, when we send, and routing overrides.

One YAML file (``TAKEDOWN_DIRECTORY``), version 1, documented in ``docs/directory.md``. Every key
is checked (unknown keys are errors) and every problem is reported on its own line as
``<file>: <key path>: <problem>``, so an admin can fix the file in one pass.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from notices.kinds import Circumstance, NoticeKind
from notices.mail.addresses import InvalidAddress, validate_address, validate_domain
from notices.yamlfile import YamlSyntaxError, load_strict_yaml

MAX_DIRECTORY_BYTES = 1_000_000
"""A directory file larger than this is refused unread: it cannot be a hand-edited file."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_CODE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class DirectoryError(ValueError):
    """The directory file is unusable; ``problems`` holds one ``file: key: problem`` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _matches(regex: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"not a valid {what}: {value[:60]!r}")
        return value

    return AfterValidator(check)


def _address(value: str) -> str:
    try:
        return validate_address(value)
    except InvalidAddress as exc:
        raise ValueError(f"not a usable e-mail address: {exc}") from None


def _duration(value: str) -> timedelta:
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration like '24h' or '7d': {value[:40]!r}")
    return timedelta(**{_DURATION_UNITS[match.group(2)]: int(match.group(1))})


def _check_duration(value: str) -> str:
    _duration(value)
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value[:60]!r}") from None
    return value


Code = Annotated[str, _matches(_CODE, "code ([a-z0-9-], at most 40)")]
CountryCode = Annotated[str, _matches(_COUNTRY, "ISO 3166-1 alpha-2 code in upper case")]
LanguageCode = Annotated[str, _matches(_LANGUAGE, "ISO 639-1 language code in lower case")]
DisplayName = Annotated[str, _matches(_NAME, "name (one line, 1-100 characters)")]
Address = Annotated[str, AfterValidator(_address)]
Duration = Annotated[str, AfterValidator(_check_duration)]


def _recipient_key(key: str) -> str:
    try:
        return validate_address(key) if "@" in key else validate_domain(key)
    except InvalidAddress as exc:
        raise ValueError(f"not an e-mail address or domain: {exc}") from None


RecipientKey = Annotated[str, AfterValidator(_recipient_key)]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Hotline(BaseModel):
    """The hotline running this engine: the sender of every notice."""

    model_config = _STRICT

    code: Code
    name: DisplayName
    country: CountryCode
    from_address: Address
    reply_to: Address

    @property
    def mail_domain(self) -> str:
        """Domain of ``from_address``; the right-hand side of every Message-ID."""
        return self.from_address.rpartition("@")[2]


class Partner(BaseModel):
    """A partner hotline or law-enforcement unit that receives referrals."""

    model_config = _STRICT

    code: Code
    kind: Literal["hotline", "police"]
    name: DisplayName
    country: CountryCode
    email: Address
    language: LanguageCode = "en"
    clears_before_host_notice: bool = False
    """Police only: the host is told only after this unit clears the case."""


class SendingPolicy(BaseModel):
    """When notices may leave: a local daily window, minus quiet days and holidays."""

    model_config = _STRICT

    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"
    window: Annotated[str, _matches(_WINDOW, "window like '08:00-18:00'")] = "00:00-24:00"
    quiet_days: tuple[Weekday, ...] = ()
    holidays: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _window_is_usable(self) -> SendingPolicy:
        start, end = self.window_minutes
        if end > 24 * 60 or start >= end:
            raise ValueError("window must start before it ends, within one day (00:00-24:00)")
        if len(set(self.quiet_days)) == len(WEEKDAYS):
            raise ValueError("quiet_days cover every day of the week: nothing could ever be sent")
        return self

    @property
    def window_minutes(self) -> tuple[int, int]:
        """The window as minutes after local midnight: ``(start, end)``, end exclusive."""
        match = _WINDOW.match(self.window)
        assert match is not None  # checked by the field validator
        hours_a, mins_a, hours_b, mins_b = (int(g) for g in match.groups())
        return hours_a * 60 + mins_a, hours_b * 60 + mins_b


class EscalationPolicy(BaseModel):
    """The reminder and escalation ladder, as durations since the first notice."""

    model_config = _STRICT

    reminder_every: Duration = "24h"
    escalate_after: Duration = "72h"
    analyst_after: Duration = "7d"

    @property
    def reminder_interval(self) -> timedelta:
        """Time between reminders while the content stays up."""
        return _duration(self.reminder_every)

    @property
    def escalation_delay(self) -> timedelta:
        """Time after the first notice when registrar and police are told."""
        return _duration(self.escalate_after)

    @property
    def analyst_delay(self) -> timedelta:
        """Time after the first notice when the case is flagged for an analyst."""
        return _duration(self.analyst_after)


class RoutingRule(BaseModel):
    """An override of the default routing: add or suppress notice kinds for matching cases."""

    model_config = _STRICT

    countries: tuple[CountryCode, ...] = ()
    """Hosting countries the rule applies to; empty means any (including unknown)."""
    circumstances: tuple[Circumstance, ...] = ()
    """Circumstances the rule applies to; empty means any."""
    add: tuple[NoticeKind, ...] = ()
    suppress: tuple[NoticeKind, ...] = ()
    reason: Annotated[str, _matches(re.compile(r"^[^\x00-\x1f\x7f]{1,200}$"), "reason")]
    """Why the rule exists; quoted in every routing decision it changes."""

    @model_validator(mode="after")
    def _does_something(self) -> RoutingRule:
        if not self.add and not self.suppress:
            raise ValueError("a rule must add or suppress at least one kind")
        both = set(self.add) & set(self.suppress)
        if both:
            raise ValueError(f"kinds both added and suppressed: {', '.join(sorted(both))}")
        return self


class Directory(BaseModel):
    """The whole directory file, validated."""

    model_config = _STRICT

    version: Literal[1]
    hotline: Hotline
    partners: tuple[Partner, ...] = ()
    recipient_languages: dict[RecipientKey, LanguageCode] = Field(default_factory=dict)
    sending: SendingPolicy = SendingPolicy()
    escalation: EscalationPolicy = EscalationPolicy()
    rules: tuple[RoutingRule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Directory:
        codes = [self.hotline.code, *(p.code for p in self.partners)]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"codes used more than once: {', '.join(repeated)}")
        for partner in self.partners:
            if partner.kind == "hotline" and partner.country == self.hotline.country:
                raise ValueError(
                    f"partner hotline {partner.code} is in our own country "
                    f"{partner.country}: it would never be routed to"
                )
            if partner.kind == "hotline" and partner.clears_before_host_notice:
                raise ValueError(f"{partner.code}: clears_before_host_notice is for police only")
        return self

    def partner_hotline(self, country: str | None) -> Partner | None:
        """The first listed partner hotline operating in ``country``, if any."""
        return self._first_partner("hotline", country)

    def police(self, country: str | None) -> Partner | None:
        """The first listed police partner of ``country``, if any."""
        return self._first_partner("police", country)

    def language_for(self, address: str) -> str | None:
        """Preferred language of a non-partner recipient: exact address first, then its domain."""
        lowered = address.lower()
        exact = self.recipient_languages.get(lowered)
        if exact is not None:
            return exact
        return self.recipient_languages.get(lowered.rpartition("@")[2])

    def _first_partner(self, kind: str, country: str | None) -> Partner | None:
        if country is None:
            return None
        return next((p for p in self.partners if p.kind == kind and p.country == country), None)


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if part == "[key]":
            path += " (the key itself)"
        elif isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _problem(error_type: str, message: str) -> str:
    if error_type == "extra_forbidden":
        return "unknown key"
    if error_type == "missing":
        return "required key missing"
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def parse_directory(text: str, source: str = "<directory>") -> Directory:
    """Validate directory YAML ``text``; raise :class:`DirectoryError` naming ``source``."""
    try:
        raw = load_strict_yaml(text)
    except YamlSyntaxError as exc:
        raise DirectoryError([f"{source}: {exc}"]) from None
    if not isinstance(raw, dict):
        raise DirectoryError([f"{source}: (top level): expected a mapping of keys"])
    # Keys are matched as written; YAML may read bare numbers as ints, which no key is.
    if isinstance(raw.get("recipient_languages"), dict):
        raw["recipient_languages"] = {
            str(k).lower(): v for k, v in raw["recipient_languages"].items()
        }
    try:
        return Directory.model_validate(raw)
    except PydanticValidationError as exc:
        problems = [
            f"{source}: {_key_path(err['loc'])}: {_problem(err['type'], err['msg'])}"
            for err in exc.errors()
        ]
        raise DirectoryError(problems) from None


def load_directory(path: str | Path) -> Directory:
    """Read and validate the directory file at ``path``; raise :class:`DirectoryError` if bad."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_DIRECTORY_BYTES:
            raise DirectoryError([f"{file}: (file): larger than {MAX_DIRECTORY_BYTES} bytes"])
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryError([f"{file}: (file): cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise DirectoryError([f"{file}: (file): not UTF-8 text"]) from None
    return parse_directory(text, str(file))
