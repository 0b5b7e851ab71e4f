"""Least privilege for notices: a liaison officer sees the notices addressed to their own
agency and the case's facts, never another agency's correspondence (unless configured)."""

from __future__ import annotations

import io
import json
import zipfile

from fastapi import FastAPI
from sqlalchemy import Engine

from registry.db import unit_of_work
from registry.models import Notice, notice_cases
from registry.status import NoticeStatus
from settings import Settings
from tests.web.client import signed_in
from tests.web.conftest import RecordingStarter, serving
from tests.web.seed import AGENCY, OTHER_AGENCY, T0, World
from web.app import create_app
from web.config import WebConfig

SECRET_REASON = "the police of another country were told first"


def _tell_another_agency(engine: Engine, case_id: int) -> None:
    with unit_of_work(engine) as session:
        notice = Notice(
            kind="police_referral",
            status=NoticeStatus.SENT,
            recipient_email=f"referrals@{OTHER_AGENCY}.example",
            recipient_name=OTHER_AGENCY,
            recipient_role="police",
            partner_code=OTHER_AGENCY,
            language="en",
            reason=SECRET_REASON,
            subject="referral",
            message_id="<other-agency@hotline.example>",
            created_at=T0,
        )
        session.add(notice)
        session.flush()
        session.execute(notice_cases.insert().values(notice_id=notice.id, case_id=case_id))


def _what_liz_sees(base_url: str, world: World, token: str) -> tuple[str, list[str], list[str]]:
    with signed_in(base_url, "liz") as liz:
        page = liz.get(f"/cases/{world.ours}")
        bundle = liz.get(f"/cases/{world.ours}/bundle")
        api = liz.get(f"/api/cases/{world.ours}", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == bundle.status_code == api.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        case = json.loads(archive.read("case.json"))
    in_bundle = [n["partner_code"] for n in case["notices"]]
    in_api = [n["partner_code"] for n in api.json()["notices"]]
    return page.text, in_bundle, in_api


def test_a_liaison_officer_sees_only_their_agencys_notices(
    app: FastAPI, engine: Engine, world: World
) -> None:
    _tell_another_agency(engine, world.ours)
    with serving(app) as live:
        page, in_bundle, in_api = _what_liz_sees(live.url, world, world.tokens["liz"])
        assert SECRET_REASON not in page and f"referrals@{OTHER_AGENCY}" not in page
        assert world.reference(world.ours) in page  # the case's facts are still there
        assert in_bundle == [AGENCY] and in_api == [AGENCY]
        with signed_in(live.url, "ana") as ana:
            assert SECRET_REASON in ana.get(f"/cases/{world.ours}").text


def test_a_setting_shows_liaison_officers_every_notice(
    engine: Engine, world: World, web_config: WebConfig
) -> None:
    _tell_another_agency(engine, world.ours)
    config = WebConfig(
        cookie_secure=False,
        signing_key=web_config.signing_key,
        categories=web_config.categories,
        default_source="local",
        liaison_sees_all_notices=True,
    )
    app = create_app(Settings(), engine=engine, config=config, starter=RecordingStarter())
    with serving(app) as live:
        page, in_bundle, in_api = _what_liz_sees(live.url, world, world.tokens["liz"])
    assert SECRET_REASON in page
    assert sorted(in_bundle) == sorted(in_api) == sorted([AGENCY, OTHER_AGENCY])


def test_the_setting_is_read_from_the_environment() -> None:
    assert not WebConfig.from_settings(Settings()).liaison_sees_all_notices
    assert WebConfig.from_settings(Settings(liaison_sees_all_notices=True)).liaison_sees_all_notices
