"""Who is told what, and why: routing is a pure function of case facts, directory and moment.

Defaults follow hotline practice:

- hosted in our own country: the police partner first; the host (and any CDN) is told once the
  police clear the case, if that unit has ``clears_before_host_notice`` (the notices are planned
  with ``hold=True``);
- hosted where a partner hotline operates: a referral to that hotline and no direct host notice,
  since the partner knows its national procedure and its hosts;
- elsewhere: a notice to the host's abuse desk, plus a referral to that country's police partner
  if there is one;
- behind a CDN: a CDN notice asking for removal and for the origin host's identity;
- the registrar when the escalation ladder (or a rule) calls for it;
- the registrar alone when the host cannot be found (the name does not resolve) but the domain's
  registrar can: a request to suspend the domain (``untraceable``).

Contacts come best first: abuse desks, then general contacts (a registrar's or network owner's
own address, ``kind`` other than ``abuse``), so a general contact is written to only when no
desk is known, and the notice's reasons say so.

``rules:`` in the directory add or suppress kinds on top. Every planned notice carries the reasons
that put it there, and the plan lists what was wanted but could not be addressed: both are
evidence of why each notice went where it went.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from notices.directory import Directory, Partner
from notices.facts import AbuseContact, CaseFacts, NoticeItem, clean_text, notice_items
from notices.kinds import Circumstance, NoticeKind, Role
from notices.mail.addresses import InvalidAddress, validate_address

DEFAULT_LANGUAGE = "en"

_FIRST_ROUND_LIKE = frozenset(
    {Circumstance.FIRST_ROUND, Circumstance.MOVED, Circumstance.REAPPEARED}
)
_HOST_SIDE = frozenset({Role.HOST, Role.CDN, Role.REGISTRAR})


class PlannedNotice(BaseModel):
    """One notice to send: kind, recipient, language, the URLs it covers and why it exists."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: NoticeKind
    role: Role
    recipient_address: str
    """Validated by :func:`notices.mail.addresses.validate_address` at planning time."""
    recipient_name: str | None
    language: str
    """The recipient's preferred language; rendering falls back to English if needed."""
    circumstance: Circumstance
    items: tuple[NoticeItem, ...]
    hold: bool
    """True: wait until the police partner clears the case before sending."""
    clearance_requested: bool = False
    """Police referrals only: the host-side notices wait for this unit to clear the case."""
    reasons: tuple[str, ...]

    @property
    def case_ids(self) -> tuple[int, ...]:
        """The distinct cases this notice covers, in order of first appearance."""
        return tuple(dict.fromkeys(item.case_id for item in self.items))

    @property
    def references(self) -> tuple[str, ...]:
        """The distinct case references, in order of first appearance."""
        return tuple(dict.fromkeys(item.reference for item in self.items))

    @property
    def urls(self) -> tuple[str, ...]:
        """The URLs this notice covers."""
        return tuple(item.url for item in self.items)


class RoutingPlan(BaseModel):
    """The result of routing one case: notices to send, and what could not be addressed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notices: tuple[PlannedNotice, ...]
    gaps: tuple[str, ...] = ()
    """Notices that were due but have no usable recipient (the case needs an analyst)."""
    suppressed: tuple[str, ...] = ()
    """Notices a directory rule suppressed, with the rule's reason."""


@dataclass(frozen=True, slots=True)
class GroupingLimits:
    """Bounds on grouping, so one mail stays readable for the person acting on it."""

    max_urls_per_notice: int = 50


@dataclass(frozen=True, slots=True)
class _Recipient:
    role: Role
    address: str
    name: str | None
    language: str
    language_reason: str


class _Routing:
    """The decisions for one case; one instance per call of :func:`plan_notices`."""

    def __init__(self, facts: CaseFacts, directory: Directory, moment: Circumstance) -> None:
        self.facts = facts
        self.directory = directory
        self.moment = moment
        self.country = None if facts.hosting_unknown_behind_cdn else facts.hosting_country
        own = directory.hotline.country
        self.own_country = self.country is not None and self.country == own
        self.partner = None if self.own_country else directory.partner_hotline(self.country)
        self.police = directory.police(self.country)
        self.holds = (
            moment in _FIRST_ROUND_LIKE
            and self.police is not None
            and self.police.clears_before_host_notice
            and self.partner is None
        )
        self.gaps: list[str] = []

    def default_kinds(self) -> dict[NoticeKind, str]:
        """Kinds the defaults call for, each with the reason why."""
        where = f"hosted in {self.country}" if self.country else "hosting country unknown"
        tag = f"{self.moment}: {where}"
        cdn = self.facts.cdn
        cdn_name = (cdn.name if cdn else None) or "the CDN"
        wanted: dict[NoticeKind, str] = {}
        if self.moment is Circumstance.UNTRACEABLE:
            domain = self.facts.registered_domain or "the domain"
            wanted[NoticeKind.REGISTRAR_UNTRACEABLE] = (
                f"{self.moment}: the hosting of {domain} could not be determined; "
                "its registrar is asked to suspend the domain"
            )
        elif self.moment is Circumstance.POLICE_CLEARED:
            wanted[NoticeKind.HOST_TAKEDOWN] = f"{tag}: the police partner cleared the case"
            if cdn:
                wanted[NoticeKind.CDN_REQUEST] = f"{tag}: the police partner cleared the case"
        elif self.moment in (Circumstance.REMINDER, Circumstance.ESCALATION):
            kind = NoticeKind(self.moment.value)
            wanted[kind] = f"{tag}: content still online, {self.moment} to those notified"
            if self.moment is Circumstance.ESCALATION and self.partner is None:
                wanted[NoticeKind.REGISTRAR_SUSPENSION] = f"{tag}: escalation ladder"
                if self.police:
                    wanted[NoticeKind.POLICE_REFERRAL] = f"{tag}: escalation ladder"
        elif self.facts.hosting_unknown_behind_cdn:
            wanted[NoticeKind.CDN_REQUEST] = (
                f"{tag}: origin hidden behind {cdn_name}; ask it to remove and disclose the origin"
            )
        elif self.partner is not None:
            wanted[NoticeKind.HOTLINE_REFERRAL] = (
                f"{tag}: partner hotline {self.partner.code} operates there; "
                "referral instead of a direct host notice"
            )
        else:
            if self.police:
                first = " first" if self.own_country else ""
                police = f"{tag}: police partner {self.police.code}{first}"
                wanted[NoticeKind.POLICE_REFERRAL] = police
            host_reason = f"{tag}: notice to the host's abuse desk"
            if self.holds and self.police:
                host_reason += f", held until {self.police.code} clears the case"
            elif self.own_country and not self.police:
                host_reason += f" (no police partner for {self.country} in the directory)"
            wanted[NoticeKind.HOST_TAKEDOWN] = host_reason
            if cdn:
                wanted[NoticeKind.CDN_REQUEST] = (
                    f"{tag}: served through {cdn_name}; ask it to remove and disclose the origin"
                )
        return wanted

    def recipients(self, kind: NoticeKind) -> list[_Recipient]:
        """Who receives ``kind`` for this case; an empty list records a gap."""
        facts = self.facts
        if kind is NoticeKind.HOTLINE_REFERRAL:
            return self._partner(kind, Role.HOTLINE, self.partner)
        if kind is NoticeKind.POLICE_REFERRAL:
            return self._partner(kind, Role.POLICE, self.police)
        if kind is NoticeKind.HOST_TAKEDOWN:
            return self._host(kind)
        if kind is NoticeKind.CDN_REQUEST:
            return self._cdn(kind)
        if kind in (NoticeKind.REGISTRAR_SUSPENSION, NoticeKind.REGISTRAR_UNTRACEABLE):
            registrar = facts.registrar
            contacts = registrar.contacts if registrar else ()
            return self._contact(
                kind, Role.REGISTRAR, contacts, registrar.name if registrar else None
            )
        # Reminders and escalations go to whoever was asked to act in the first round.
        if self.partner is not None:
            return self._partner(kind, Role.HOTLINE, self.partner)
        found: list[_Recipient] = []
        if facts.host_contacts and not facts.hosting_unknown_behind_cdn:
            found += self._host(kind)
        if facts.cdn is not None:
            found += self._cdn(kind)
        if not found and not self.gaps:
            self.gaps.append(f"{kind}: nobody was asked to act: no host or CDN abuse contact")
        return found

    def _partner(self, kind: NoticeKind, role: Role, partner: Partner | None) -> list[_Recipient]:
        if partner is None:
            self.gaps.append(f"{kind}: no {role} partner for {self.country or 'unknown country'}")
            return []
        reason = f"language {partner.language} from partner {partner.code}"
        return [_Recipient(role, partner.email, partner.name, partner.language, reason)]

    def _host(self, kind: NoticeKind) -> list[_Recipient]:
        network = self.facts.network
        return self._contact(
            kind, Role.HOST, self.facts.host_contacts, network.name if network else None
        )

    def _cdn(self, kind: NoticeKind) -> list[_Recipient]:
        cdn = self.facts.cdn
        return self._contact(kind, Role.CDN, cdn.contacts if cdn else (), cdn.name if cdn else None)

    def _contact(
        self,
        kind: NoticeKind,
        role: Role,
        contacts: Sequence[AbuseContact],
        organisation: str | None,
    ) -> list[_Recipient]:
        for rank, contact in enumerate(contacts, start=1):
            try:
                address = validate_address(contact.address)
            except InvalidAddress as exc:
                shown = clean_text(contact.address, 80)
                self.gaps.append(f"{kind}: {role} contact #{rank} {shown!r} refused: {exc}")
                continue
            preferred = self.directory.language_for(address)
            language = preferred or DEFAULT_LANGUAGE
            source = "recipient_languages" if preferred else "default"
            reason = f"language {language} ({source}); {role} contact #{rank} of {len(contacts)}"
            if contact.kind != "abuse":
                reason += f" ({contact.kind} contact, not an abuse desk: no abuse desk known)"
            name = contact.name or organisation
            return [_Recipient(role, address, name, language, reason)]
        if not contacts:
            self.gaps.append(f"{kind}: no {role} abuse contact known")
        return []


def _rule_applies(rule_countries: Sequence[str], country: str | None) -> bool:
    return not rule_countries or (country is not None and country in rule_countries)


def plan_notices(facts: CaseFacts, directory: Directory, circumstance: Circumstance) -> RoutingPlan:
    """Plan the notices due for one case at ``circumstance``; pure and deterministic.

    Each notice covers all of the case's URLs and lists its reasons; kinds that are due but have
    no usable recipient (no contact, or only addresses that fail validation) appear in ``gaps``.
    """
    routing = _Routing(facts, directory, circumstance)
    wanted = routing.default_kinds()
    suppressed: list[str] = []
    for number, rule in enumerate(directory.rules, start=1):
        if not _rule_applies(rule.countries, routing.country):
            continue
        if rule.circumstances and circumstance not in rule.circumstances:
            continue
        for kind in rule.add:
            note = f"rule {number}: {rule.reason}"
            earlier = wanted.get(kind)
            wanted[kind] = f"{earlier}; {note}" if earlier else f"{circumstance}: {note}"
        for kind in rule.suppress:
            if wanted.pop(kind, None) is not None:
                suppressed.append(f"{kind}: suppressed by rule {number}: {rule.reason}")
    items = notice_items(facts)
    notices: list[PlannedNotice] = []
    for kind, reason in wanted.items():
        for recipient in routing.recipients(kind):
            notices.append(
                PlannedNotice(
                    kind=kind,
                    role=recipient.role,
                    recipient_address=recipient.address,
                    recipient_name=recipient.name,
                    language=recipient.language,
                    circumstance=circumstance,
                    items=items,
                    hold=routing.holds and recipient.role in _HOST_SIDE,
                    clearance_requested=routing.holds and recipient.role is Role.POLICE,
                    reasons=(reason, f"{recipient.address}: {recipient.language_reason}"),
                )
            )
    return RoutingPlan(
        notices=tuple(notices), gaps=tuple(routing.gaps), suppressed=tuple(suppressed)
    )


def group_notices(
    notices: Iterable[PlannedNotice], limits: GroupingLimits = GroupingLimits()
) -> list[PlannedNotice]:
    """Merge notices for the same recipient, kind, language and hold state into one notice each.

    URLs keep their order of first appearance and appear once; reasons are merged likewise. A
    group larger than ``limits.max_urls_per_notice`` is split into several notices. Pure.
    """
    groups: dict[tuple[object, ...], list[PlannedNotice]] = {}
    for notice in notices:
        key = (
            notice.kind,
            notice.role,
            notice.recipient_address.lower(),
            notice.language,
            notice.hold,
            notice.clearance_requested,
            notice.circumstance,
        )
        groups.setdefault(key, []).append(notice)
    grouped: list[PlannedNotice] = []
    for members in groups.values():
        items = list({(i.case_id, i.url): i for m in members for i in m.items}.values())
        reasons = tuple(dict.fromkeys(r for m in members for r in m.reasons))
        name = next((m.recipient_name for m in members if m.recipient_name), None)
        step = max(1, limits.max_urls_per_notice)
        for start in range(0, len(items), step):
            grouped.append(
                members[0].model_copy(
                    update={
                        "items": tuple(items[start : start + step]),
                        "reasons": reasons,
                        "recipient_name": name,
                    }
                )
            )
    return grouped
