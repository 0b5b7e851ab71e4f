"""A small JSON endpoint showing what the world received and what became of each URL.

`GET /mailboxes`, `GET /mailboxes/{address}`, `GET /urls` (filters: `state`, `host`, `url`,
`limit`, `offset`), `GET /events` and `GET /health`: enough for a test or the demo to show
"notice received, content removed".
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from sandbox.mailstore import Mailstore
from sandbox.servers.httpd import HttpServer, Request, Response
from sandbox.state import Move, Removal, Reupload, Suspension, WorldState
from sandbox.world.index import Party
from sandbox.world.model import ContentUrl, Hotline, Network, Partner, Registrar

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000


def describe_url(state: WorldState, url: ContentUrl, content_port: int) -> dict[str, Any]:
    """One URL's current state: served, removed, reuploaded, moved, suspended or unresolvable."""
    condition = state.condition(url)
    holder = state.holder(url)
    history = state.urls.get(url.key)
    domain = state.index.registered_domain(url.host)
    status = 200
    if condition == "removed" and history is not None and history.removed_status:
        status = history.removed_status
    elif condition in ("suspended", "unresolvable"):
        status = 0  # no HTTP answer: the name does not resolve
    return {
        "url": url.url(content_port),
        "state": condition,
        "http_status": status,
        "sha256": url.sha256,
        "addresses": state.addresses(url.host),
        "holder": holder.id if holder else None,
        "original_holder": state.original_holder_id(url),
        "moved_to": holder.id if condition == "moved" and holder else None,
        "origin": domain.origin if domain else None,
        "domain": domain.name if domain else None,
        "removals": history.removals if history else 0,
        "reuploads": history.reuploads if history else 0,
    }


def _party(party: Party) -> dict[str, str]:
    if isinstance(party, Network):
        return {"kind": "cdn" if party.is_cdn else "provider", "id": party.id, "name": party.name}
    if isinstance(party, Registrar):
        return {"kind": "registrar", "id": party.id, "name": party.name}
    if isinstance(party, Partner):
        return {"kind": party.kind, "id": party.code, "name": party.name}
    assert isinstance(party, Hotline)
    return {"kind": "us", "id": party.code, "name": party.name}


class InspectionService:
    """Answers inspection queries (the sans-I/O part)."""

    def __init__(self, state: WorldState, store: Mailstore, content_port: int) -> None:
        self.state = state
        self.store = store
        self.content_port = content_port

    def respond(self, request: Request) -> Response:
        """The answer to a GET of `request.path`."""
        self.state.advance()
        parts = [p for p in request.path.split("/") if p]
        if request.method != "GET":
            return Response.json({"error": "read-only"}, 405)
        if not parts or parts == ["health"]:
            return Response.json(self.health())
        if parts == ["mailboxes"]:
            return Response.json({"mailboxes": self.mailboxes()})
        if len(parts) == 2 and parts[0] == "mailboxes":
            messages = self.messages(parts[1])
            if messages is None:
                return Response.json({"error": f"no mailbox {parts[1]!r}"}, 404)
            return Response.json({"address": parts[1].lower(), "messages": messages})
        if parts == ["urls"]:
            return Response.json(self.urls(request.query))
        if parts == ["events"]:
            return Response.json({"events": self.events()})
        return Response.json({"error": "not found"}, 404)

    def health(self) -> dict[str, Any]:
        """World name and sizes."""
        world = self.state.index.world
        return {
            "world": world.name,
            "urls": len(world.urls),
            "domains": len(world.domains),
            "mailboxes": len(self.state.index.mailboxes),
        }

    def mailboxes(self) -> list[dict[str, Any]]:
        """Every mailbox of the world, who owns it and how many messages it holds."""
        return [
            {
                "address": address,
                "messages": len(self.store.mailboxes.get(address, [])),
                "owners": [_party(p) for p in parties],
            }
            for address, parties in sorted(self.state.index.mailboxes.items())
        ]

    def messages(self, address: str) -> list[dict[str, Any]] | None:
        """The messages in one mailbox (None: not a mailbox of the world)."""
        if not self.store.accepts(address):
            return None
        urls = self.state.index.urls
        return [
            m.summary(self.content_port, urls)
            for m in self.store.mailboxes.get(address.lower(), [])
        ]

    def urls(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """URL states, filtered by `state`, `host` or `url` and paged by `limit`/`offset`."""
        index = self.state.index
        wanted = query.get("url", [None])[0]
        if wanted:
            parts = urlsplit(wanted)
            key = (parts.hostname or "") + (parts.path or "/")
            key += f"?{parts.query}" if parts.query else ""
            candidates = [index.urls[key]] if key in index.urls else []
        else:
            candidates = list(index.world.urls)
        host = query.get("host", [None])[0]
        if host:
            candidates = [u for u in candidates if u.host == host.lower()]
        described = [describe_url(self.state, u, self.content_port) for u in candidates]
        state = query.get("state", [None])[0]
        if state:
            described = [d for d in described if d["state"] == state]
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", [str(DEFAULT_LIMIT)])[0]), MAX_LIMIT)
        return {
            "total": len(described),
            "offset": offset,
            "urls": described[offset : offset + limit],
        }

    def events(self) -> list[dict[str, Any]]:
        """Every change that took effect, in order."""
        kinds = {Removal: "removed", Reupload: "reuploaded", Move: "moved", Suspension: "suspended"}
        urls = self.state.index.urls
        events = []
        for applied in self.state.applied:
            event = {
                "at": applied.at,
                "event": kinds.get(type(applied.change), "forwarded"),
                **asdict(applied.change),
            }
            if "url" in event:
                event["url"] = urls[event["url"]].url(self.content_port)
            events.append(event)
        return events


class InspectionServer:
    """The inspection endpoint on one loopback port."""

    def __init__(self, service: InspectionService) -> None:
        self.service = service
        self.http = HttpServer(self._handle)

    async def _handle(self, request: Request) -> Response:
        try:
            return self.service.respond(request)
        except ValueError as error:
            return Response.json({"error": str(error)}, 400)

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port; return the port."""
        return await self.http.listen(host, port)

    async def close(self) -> None:
        """Stop serving."""
        await self.http.close()
