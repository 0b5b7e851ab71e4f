"""Server-rendered pages: one Jinja2 environment, autoescaped, strict about missing values."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from registry.users import Principal, Role
from web.config import WebState
from web.security import CSRF_FIELD
from web.sessions import form_token, set_csrf_cookie

MAX_SHOWN_TEXT = 20_000
"""Registry answers are capped when stored; the page caps them again for readability."""


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["hours"] = hours
    env.filters["defang_host"] = defang_host
    env.filters["clip"] = clip
    env.filters["resolution_facts"] = resolution_facts
    return env


def render(
    request: Request,
    template: str,
    user: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` with the user, their menu and a CSRF token for its forms."""
    csrf, fresh = form_token(request)
    page = (
        environment()
        .get_template(template)
        .render(
            user=user,
            menu=menu(user),
            path=request.url.path,
            csrf_field=CSRF_FIELD,
            csrf=csrf,
            **context,
        )
    )
    response = HTMLResponse(page, status_code=status_code)
    if fresh:
        state = request.app.state.web
        assert isinstance(state, WebState)
        set_csrf_cookie(response, csrf, state.config.cookie_secure)
    return response


def menu(user: Principal | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    items = {
        Role.ANALYST: [("/dashboard", "Dashboard"), ("/cases", "Cases"), ("/cases/new", "Open")],
        Role.LIAISON: [("/cases", "Referred cases"), ("/referrals", "Referral record")],
        Role.ADMIN: [
            ("/dashboard", "Dashboard"),
            ("/admin/users", "Users"),
            ("/admin/partners", "Partners"),
        ],
        Role.AUDITOR: [("/audit", "Audit log")],
    }
    return items[user.role]


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def defang_host(host: str | None) -> str:
    """A host name people can read but no program turns into a link."""
    return host.replace(".", "[.]") if host else "—"


def clip(text: str | None, limit: int = MAX_SHOWN_TEXT) -> str:
    if text is None:
        return ""
    return (
        text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"
    )


def resolution_facts(result: object) -> list[tuple[str, str]]:
    """The lines of a stored resolution people need, read defensively (it is stored JSON).

    The URL itself is left out: pages show only the case's defanged URL.
    """
    if not isinstance(result, dict):
        return []
    facts: list[tuple[str, str]] = []

    def part(name: str) -> dict[str, object]:
        value = result.get(name)
        return value if isinstance(value, dict) else {}

    def text(value: object) -> str:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value[:20])
        return "" if value is None else str(value)[:500]

    def contacts(value: object) -> str:
        """Ranked addresses, each with where it was found, as the contacts table shows them."""
        shown = []
        for rank, contact in enumerate(value[:20] if isinstance(value, list) else [], start=1):
            if not isinstance(contact, dict) or not isinstance(contact.get("email"), str):
                continue
            found = text(contact.get("source")) or "unknown source"
            confidence = contact.get("confidence")
            if isinstance(confidence, int | float):
                found += f", {confidence:.2f}"
            shown.append(f"{rank}. {contact['email'][:320]} ({found})")
        return "; ".join(shown)

    network = part("network")
    if network:
        facts.append(
            (
                "Network",
                ", ".join(
                    t
                    for t in (
                        text(network.get("name")),
                        f"AS{network['asn']}" if network.get("asn") else "",
                        text(network.get("prefix")),
                        text(network.get("country")),
                    )
                    if t
                ),
            )
        )
        facts.append(("Network abuse contacts", contacts(network.get("abuse_contacts"))))
        facts.append(("Network answer from", text(network.get("source"))))
    registrar = part("registrar")
    if registrar:
        name = text(registrar.get("name"))
        iana = text(registrar.get("iana_id"))
        facts.append(("Registrar", f"{name} (IANA {iana})" if iana else name))
        facts.append(("Registrar abuse contacts", contacts(registrar.get("abuse_contacts"))))
    cdn = part("cdn")
    if cdn:
        facts.append(("CDN", text(cdn.get("name"))))
        facts.append(("CDN abuse contacts", contacts(cdn.get("abuse_contacts"))))
    if result.get("hosting_country"):
        facts.append(("Hosting country", text(result.get("hosting_country"))))
    if result.get("ips"):
        facts.append(("Addresses", text(result.get("ips"))))
    if result.get("errors"):
        facts.append(("Errors", text(result.get("errors"))))
    return [(label, value or "—") for label, value in facts]
