"""Routing: who is told what at each moment of a case, and why; grouping per recipient."""

from __future__ import annotations

from notices.directory import Directory, parse_directory
from notices.facts import AbuseContact, Registrar
from notices.kinds import Circumstance, NoticeKind, Role
from notices.routing import GroupingLimits, PlannedNotice, group_notices, plan_notices
from tests.notices.samples import make_case

FIRST = Circumstance.FIRST_ROUND


def summary(notices: tuple[PlannedNotice, ...] | list[PlannedNotice]) -> list[tuple[str, ...]]:
    return [(n.kind, n.recipient_address, n.language, str(n.hold)) for n in notices]


def test_own_country_goes_to_police_first_and_holds_the_host(directory: Directory) -> None:
    plan = plan_notices(make_case(country="GB", cdn=True), directory, FIRST)
    assert summary(plan.notices) == [
        ("police_referral", "cse-referrals@police.example", "en", "False"),
        ("host_takedown", "abuse@host.example", "en", "True"),
        ("cdn_request", "abuse@cdn.example", "en", "True"),
    ]
    police, host, _ = plan.notices
    assert police.clearance_requested and not host.clearance_requested
    assert "held until gb-police clears the case" in host.reasons[0]
    assert plan.gaps == ()


def test_police_clearance_releases_the_host_side(directory: Directory) -> None:
    plan = plan_notices(make_case(country="GB", cdn=True), directory, Circumstance.POLICE_CLEARED)
    assert summary(plan.notices) == [
        ("host_takedown", "abuse@host.example", "en", "False"),
        ("cdn_request", "abuse@cdn.example", "en", "False"),
    ]
    assert "cleared" in plan.notices[0].reasons[0]


def test_partner_hotline_country_gets_a_referral_and_no_host_notice(
    directory: Directory,
) -> None:
    plan = plan_notices(make_case(country="BZ", cdn=True), directory, FIRST)
    assert summary(plan.notices) == [
        ("hotline_referral", "reportes@bz-hotline.example", "es", "False"),
    ]
    assert "partner hotline bz-hotline" in plan.notices[0].reasons[0]
    assert plan.notices[0].recipient_name == "Example BZ Hotline"


def test_elsewhere_the_host_and_that_countrys_police(directory: Directory) -> None:
    plan = plan_notices(make_case(country="US"), directory, FIRST)
    assert summary(plan.notices) == [
        ("police_referral", "liaison@us-police.example", "en", "False"),
        ("host_takedown", "abuse@host.example", "en", "False"),
    ]
    # The example directory's US rule adds a police referral the defaults already planned.
    assert "rule 1" in plan.notices[0].reasons[0]


def test_elsewhere_without_police_partner_only_the_host(directory: Directory) -> None:
    plan = plan_notices(make_case(country="DE"), directory, FIRST)
    assert summary(plan.notices) == [("host_takedown", "abuse@host.example", "en", "False")]


def test_hidden_origin_goes_to_the_cdn(directory: Directory) -> None:
    plan = plan_notices(make_case(country="US", hidden_origin=True), directory, FIRST)
    assert summary(plan.notices) == [("cdn_request", "abuse@cdn.example", "en", "False")]
    assert "origin hidden behind Example CDN" in plan.notices[0].reasons[0]


def test_reminders_go_to_whoever_was_asked_to_act(directory: Directory) -> None:
    direct = plan_notices(make_case(country="US", cdn=True), directory, Circumstance.REMINDER)
    assert [(n.kind, n.role) for n in direct.notices] == [
        (NoticeKind.REMINDER, Role.HOST),
        (NoticeKind.REMINDER, Role.CDN),
    ]
    referred = plan_notices(make_case(country="BZ"), directory, Circumstance.REMINDER)
    assert [(n.kind, n.role) for n in referred.notices] == [(NoticeKind.REMINDER, Role.HOTLINE)]


def test_escalation_adds_registrar_and_police(directory: Directory) -> None:
    plan = plan_notices(make_case(country="US"), directory, Circumstance.ESCALATION)
    assert [(n.kind, n.recipient_address) for n in plan.notices] == [
        (NoticeKind.ESCALATION, "abuse@host.example"),
        (NoticeKind.REGISTRAR_SUSPENSION, "abuse@registrar.example"),
        (NoticeKind.POLICE_REFERRAL, "liaison@us-police.example"),
    ]
    assert all(not n.hold for n in plan.notices)


def test_escalation_without_registrar_contact_is_a_gap(directory: Directory) -> None:
    plan = plan_notices(
        make_case(country="DE", registrar=False), directory, Circumstance.ESCALATION
    )
    assert [n.kind for n in plan.notices] == [NoticeKind.ESCALATION]
    assert plan.gaps == ("registrar_suspension: no registrar abuse contact known",)


def test_moved_and_reappeared_start_a_new_round(directory: Directory) -> None:
    for moment in (Circumstance.MOVED, Circumstance.REAPPEARED):
        plan = plan_notices(make_case(country="DE"), directory, moment)
        assert [n.kind for n in plan.notices] == [NoticeKind.HOST_TAKEDOWN]
        assert plan.notices[0].reasons[0].startswith(f"{moment}: hosted in DE")
        assert plan.notices[0].circumstance is moment


def test_invalid_contact_is_skipped_for_the_next_and_noted(directory: Directory) -> None:
    contacts = (
        AbuseContact(address="not an address"),
        AbuseContact(address="Abuse@Host2.EXAMPLE", name="Second"),
    )
    plan = plan_notices(make_case(country="DE", host_contacts=contacts), directory, FIRST)
    assert summary(plan.notices) == [("host_takedown", "Abuse@host2.example", "en", "False")]
    assert "host contact #2 of 2" in plan.notices[0].reasons[1]
    assert len(plan.gaps) == 1 and "host contact #1 'not an address' refused" in plan.gaps[0]


def test_no_host_contact_is_a_gap(directory: Directory) -> None:
    plan = plan_notices(make_case(country="DE", host_contacts=()), directory, FIRST)
    assert plan.notices == ()
    assert plan.gaps == ("host_takedown: no host abuse contact known",)


def test_recipient_language_exact_address_then_domain(directory: Directory) -> None:
    exact = plan_notices(
        make_case(country="DE", host_address="abuse@hostingbz.example"), directory, FIRST
    )
    by_domain = plan_notices(
        make_case(country="DE", host_address="noc@HostingBZ.example"), directory, FIRST
    )
    assert exact.notices[0].language == "es"
    assert "recipient_languages" in exact.notices[0].reasons[1]
    assert by_domain.notices[0].language == "es"


RULES = """
version: 1
hotline: {code: gb-hotline, name: H, country: GB, from_address: n@h.example, reply_to: r@h.example}
partners:
  - {code: nl-hotline, kind: hotline, name: NL, country: NL, email: r@nl.example}
rules:
  - countries: [NL]
    add: [host_takedown]
    reason: "NL hosts want a direct notice as well"
  - countries: [FR]
    circumstances: [first_round]
    suppress: [host_takedown]
    add: [registrar_suspension]
    reason: "FR: the registrar acts faster"
"""


def test_rules_add_and_suppress_with_their_reasons() -> None:
    rules = parse_directory(RULES, "rules.yaml")
    nl = plan_notices(make_case(country="NL"), rules, FIRST)
    assert [n.kind for n in nl.notices] == [NoticeKind.HOTLINE_REFERRAL, NoticeKind.HOST_TAKEDOWN]
    assert nl.notices[1].reasons[0] == "first_round: rule 1: NL hosts want a direct notice as well"
    fr = plan_notices(make_case(country="FR"), rules, FIRST)
    assert [n.kind for n in fr.notices] == [NoticeKind.REGISTRAR_SUSPENSION]
    assert fr.suppressed == ("host_takedown: suppressed by rule 2: FR: the registrar acts faster",)
    fr_reminder = plan_notices(make_case(country="FR"), rules, Circumstance.REMINDER)
    assert [n.kind for n in fr_reminder.notices] == [NoticeKind.REMINDER]


def test_routing_is_deterministic(directory: Directory) -> None:
    case = make_case(country="GB", cdn=True)
    assert plan_notices(case, directory, FIRST) == plan_notices(case, directory, FIRST)


def test_group_notices_merges_cases_per_recipient_and_kind(directory: Directory) -> None:
    planned = [
        n
        for case_id in (1, 2, 3)
        for n in plan_notices(make_case(case_id, country="DE", urls=2), directory, FIRST).notices
    ]
    planned += list(plan_notices(make_case(1, country="DE"), directory, FIRST).notices)  # repeat
    other = make_case(4, country="DE", host_address="abuse@other.example")
    planned += list(plan_notices(other, directory, FIRST).notices)
    grouped = group_notices(planned)
    assert [(n.recipient_address, n.case_ids, len(n.urls)) for n in grouped] == [
        ("abuse@host.example", (1, 2, 3), 6),
        ("abuse@other.example", (4,), 2),
    ]
    assert grouped[0].references == ("TD-000001", "TD-000002", "TD-000003")


def test_group_notices_keeps_kinds_and_holds_apart_and_splits_big_groups(
    directory: Directory,
) -> None:
    held = plan_notices(make_case(1, country="GB"), directory, FIRST).notices
    cleared = plan_notices(make_case(2, country="GB"), directory, Circumstance.POLICE_CLEARED)
    grouped = group_notices([*held, *cleared.notices])
    assert [(n.kind, n.hold, n.case_ids) for n in grouped] == [
        (NoticeKind.POLICE_REFERRAL, False, (1,)),
        (NoticeKind.HOST_TAKEDOWN, True, (1,)),
        (NoticeKind.HOST_TAKEDOWN, False, (2,)),
    ]
    many = [
        n
        for case_id in range(1, 6)
        for n in plan_notices(make_case(case_id, country="DE", urls=3), directory, FIRST).notices
    ]
    split = group_notices(many, GroupingLimits(max_urls_per_notice=4))
    assert [len(n.urls) for n in split] == [4, 4, 4, 3]
    assert sum(len(n.urls) for n in split) == 15


def test_an_untraceable_domain_goes_to_its_registrar_only(directory: Directory) -> None:
    facts = make_case(
        country=None,
        network=None,
        host_contacts=(),
        registered_domain="broken-dns.bz",
    )
    plan = plan_notices(facts, directory, Circumstance.UNTRACEABLE)
    assert [(n.kind, n.role) for n in plan.notices] == [
        (NoticeKind.REGISTRAR_UNTRACEABLE, Role.REGISTRAR)
    ]
    assert "hosting of broken-dns.bz could not be determined" in plan.notices[0].reasons[0]
    assert plan.gaps == ()


def test_a_registrar_general_contact_is_used_and_said_to_be_one(directory: Directory) -> None:
    registrar = Registrar(
        name="Noms de France SAS",
        contacts=(AbuseContact(address="support@noms.example", kind="registrar"),),
    )
    facts = make_case().model_copy(update={"registrar": registrar})
    plan = plan_notices(facts, directory, Circumstance.ESCALATION)
    [notice] = [n for n in plan.notices if n.kind is NoticeKind.REGISTRAR_SUSPENSION]
    assert notice.recipient_address == "support@noms.example"
    assert "registrar contact, not an abuse desk" in notice.reasons[1]
