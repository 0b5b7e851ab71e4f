"""RDAP over HTTP for the world's registries, registrars and RIRs, on one loopback port.

Bases: `/registry/<tld>/` (TLDs whose registry has RDAP), `/registrar/<id>/` (where a thin
registry's domain links to) and `/rir/<id>/`. An RIR asked about another region's space answers
with a redirect to the right RIR, as real RIRs do.
"""

from __future__ import annotations

import asyncio
import ipaddress

from sandbox.answers.rdap_json import (
    CONFORMANCE,
    JSON,
    TERMS,
    autnum_object,
    domain_object,
    error_object,
    holder_entities,
    ip_network_object,
    registrar_entity,
)
from sandbox.faults import Fault, FaultInjector
from sandbox.inflight import InFlight
from sandbox.servers.httpd import HttpServer, Request, Response
from sandbox.state import WorldState

RDAP_TYPE = "application/rdap+json"
RETRY_AFTER = "2"  # seconds a rate-limited client is told to wait
INFLIGHT_NAME = "rdap"  # the name the in-flight counter knows this server by


def _error(code: int, title: str, description: str) -> Response:
    return Response.json(error_object(code, title, description), code, RDAP_TYPE)


class RdapService:
    """Routes RDAP queries to the world (the sans-I/O part); `base_url` ends with a slash."""

    def __init__(self, state: WorldState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url

    def registry_base(self, tld: str) -> str:
        """The RDAP base of a TLD registry."""
        return f"{self.base_url}registry/{tld}/"

    def registrar_base(self, registrar_id: str) -> str:
        """The RDAP base of a registrar."""
        return f"{self.base_url}registrar/{registrar_id}/"

    def rir_base(self, rir_id: str) -> str:
        """The RDAP base of an RIR."""
        return f"{self.base_url}rir/{rir_id}/"

    def respond(self, path: str) -> Response:
        """The answer to a GET of `path`."""
        parts = [p for p in path.split("/") if p]
        if len(parts) < 3:
            return _error(404, "Not Found", "unknown RDAP base")
        kind, owner, query, rest = parts[0], parts[1], parts[2], parts[3:]
        if query == "help":
            return Response.json(
                {"rdapConformance": CONFORMANCE, "notices": [TERMS]}, content_type=RDAP_TYPE
            )
        if not rest:
            return _error(400, "Bad Request", "missing object key")
        key = "/".join(rest).lower()
        self.state.advance()
        if kind == "registry":
            return self._registry(owner, query, key)
        if kind == "registrar":
            return self._registrar(owner, query, key)
        if kind == "rir":
            return self._rir(owner, query, key)
        return _error(404, "Not Found", "unknown RDAP base")

    def _registry(self, tld: str, query: str, key: str) -> Response:
        index = self.state.index
        registry = index.registries.get(tld)
        if registry is None or not registry.rdap:
            return _error(404, "Not Found", "no RDAP service for this TLD")
        if query == "domain":
            domain = index.domains.get(key.rstrip("."))
            if domain is None or domain.tld != tld:
                return _error(404, "Not Found", "domain not found")
            registrar = index.registrars[domain.registrar]
            obj = domain_object(
                domain,
                registrar,
                self.registry_base(tld),
                registry=registry,
                registrar_base=self.registrar_base(registrar.id),
                suspended=domain.name in self.state.suspended,
            )
            return Response.json(obj, content_type=RDAP_TYPE)
        if query == "entity":
            return self._registrar_entity(key)
        return _error(501, "Not Implemented", f"{query} queries are not served here")

    def _registrar(self, registrar_id: str, query: str, key: str) -> Response:
        index = self.state.index
        registrar = index.registrars.get(registrar_id)
        if registrar is None:
            return _error(404, "Not Found", "unknown registrar")
        if query == "domain":
            domain = index.domains.get(key.rstrip("."))
            if domain is None or domain.registrar != registrar.id:
                return _error(404, "Not Found", "domain not found")
            obj = domain_object(
                domain,
                registrar,
                self.registrar_base(registrar.id),
                registry=None,
                registrar_base=None,
                suspended=domain.name in self.state.suspended,
            )
            return Response.json(obj, content_type=RDAP_TYPE)
        if query == "entity":
            return self._registrar_entity(key)
        return _error(501, "Not Implemented", f"{query} queries are not served here")

    def _registrar_entity(self, key: str) -> Response:
        registrar = self.state.index.registrars_by_iana.get(key)
        if registrar is None:
            return _error(404, "Not Found", "entity not found")
        obj: JSON = registrar_entity(registrar, with_abuse=True)
        obj["rdapConformance"] = CONFORMANCE
        return Response.json(obj, content_type=RDAP_TYPE)

    def _rir(self, rir_id: str, query: str, key: str) -> Response:
        index = self.state.index
        rir = index.rirs.get(rir_id)
        if rir is None:
            return _error(404, "Not Found", "unknown registry")
        base = self.rir_base(rir.id)
        if query == "ip":
            try:
                address = ipaddress.ip_network(key, strict=False).network_address
            except ValueError:
                return _error(400, "Bad Request", "not an IP address or prefix")
            allocation = index.ranges.find(address)
            if allocation is None:
                return _error(404, "Not Found", "no network holds this address")
            if allocation.holder.rir != rir.id:
                location = f"{self.rir_base(allocation.holder.rir)}ip/{key}"
                return Response(301, b"", {"Location": location}, RDAP_TYPE)
            return Response.json(ip_network_object(allocation, rir, base), content_type=RDAP_TYPE)
        if query == "autnum":
            holder = index.networks_by_asn.get(int(key)) if key.isdigit() else None
            if holder is None:
                return _error(404, "Not Found", "AS number not found")
            if holder.rir != rir.id:
                location = f"{self.rir_base(holder.rir)}autnum/{key}"
                return Response(301, b"", {"Location": location}, RDAP_TYPE)
            return Response.json(autnum_object(holder, rir, base), content_type=RDAP_TYPE)
        if query == "entity":
            found = index.networks_by_handle.get(key)
            if found is None or found.rir != rir.id:
                return _error(404, "Not Found", "entity not found")
            entities, _ = holder_entities(found, "arin")  # the registrant, abuse nested
            return Response.json(
                entities[0] | {"rdapConformance": CONFORMANCE}, content_type=RDAP_TYPE
            )
        return _error(501, "Not Implemented", f"{query} queries are not served here")


class RdapServer:
    """The RDAP HTTP endpoint with fault injection."""

    def __init__(
        self, state: WorldState, faults: FaultInjector, inflight: InFlight | None = None
    ) -> None:
        self.state = state
        self.faults = faults
        self.inflight = inflight or InFlight()
        self.http = HttpServer(self._handle)
        self.service: RdapService | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port; return the port."""
        bound = await self.http.listen(host, port)
        self.service = RdapService(self.state, f"http://{host}:{bound}/")
        return bound

    async def _handle(self, request: Request) -> Response | None:
        # Counted until the answer is ready: the HTTP server writes it as soon as this returns.
        with self.inflight.counting(INFLIGHT_NAME):
            fault = self.faults.draw()
            await self.faults.delay()
            if fault is not Fault.TIMEOUT:
                return self._answer(request, fault)
        # Held silent until the client gives up: no longer a query being answered.
        await asyncio.sleep(self.faults.plan.hold)
        return None

    def _answer(self, request: Request, fault: Fault) -> Response:
        assert self.service is not None
        if fault is Fault.REFUSE:
            return Response(reset=True)
        if fault is Fault.RATE_LIMIT:
            response = _error(429, "Too Many Requests", "query rate limit exceeded")
            response.headers["Retry-After"] = RETRY_AFTER
            return response
        if request.method not in ("GET", "HEAD"):
            return _error(405, "Method Not Allowed", "RDAP is read-only")
        response = self.service.respond(request.path)
        if fault is Fault.TRUNCATE:
            response.body = response.body[: len(response.body) // 2]
        return response

    async def close(self) -> None:
        """Stop serving."""
        await self.http.close()
