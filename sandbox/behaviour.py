"""How the world's parties react to a notice: the timers a received message starts.

A provider acts only on URLs it hosts when the notice arrives; a CDN on URLs its edge serves; a
registrar on URLs under domains it sponsors; a partner hotline passes the referral on to the host.
A party that already has a change under way for a URL ignores reminders about it.
"""

from __future__ import annotations

from sandbox.replies import is_dead
from sandbox.state import Forwarding, Move, Removal, Reupload, Suspension, WorldState
from sandbox.world.index import Party
from sandbox.world.model import Network, Partner, Registrar


class NoticeBehaviour:
    """Turns received notices into scheduled changes of a `WorldState`."""

    def __init__(self, state: WorldState) -> None:
        self.state = state
        self._rounds: dict[tuple[str, str], int] = {}
        state.on_forward = self._forwarded

    def notice_received(self, recipients: list[str], url_keys: list[str], at: float) -> None:
        """React to one message delivered at clock time `at` naming `url_keys`."""
        for recipient in recipients:
            for party in self.state.index.mailboxes.get(recipient.lower(), []):
                if is_dead(party, recipient):
                    continue  # its mailbox bounces: nobody there reads the notice
                for key in url_keys:
                    self._react(party, key, at)

    def _react(self, party: Party, key: str, at: float) -> None:
        state = self.state
        url = state.index.urls[key]
        scale = state.index.world.time_scale
        if isinstance(party, Network):
            if state.holder(url) is party:
                self._host_acts(party, key, at)
        elif isinstance(party, Registrar):
            domain = state.index.registered_domain(url.host)
            if domain is None or domain.registrar != party.id:
                return
            behaviour = party.behaviour
            if (
                behaviour.action == "suspend"
                and not state.is_pending(party.id, domain.name)
                and domain.name not in state.suspended
            ):
                state.schedule(at + behaviour.delay / scale, Suspension(domain.name, party.id))
        elif isinstance(party, Partner) and party.forward_delay is not None:
            by = f"partner:{party.code}"
            if not state.is_pending(by, key):
                state.schedule(at + party.forward_delay / scale, Forwarding(key, by))

    def _host_acts(self, host: Network, key: str, at: float) -> None:
        state = self.state
        behaviour = host.behaviour
        if state.is_pending(host.id, key):
            return
        history = state.urls.get(key)
        if history is not None and history.removed_status is not None:
            return
        scale = state.index.world.time_scale
        due = at + behaviour.delay / scale
        rounds = self._rounds.get((host.id, key), 0)
        self._rounds[(host.id, key)] = rounds + 1
        action = behaviour.action
        if action == "reupload" and rounds > 0:
            action = "remove"  # comes back once; the second notice makes it stick
        if action == "remove":
            state.schedule(due, Removal(key, behaviour.status, host.id))
        elif action == "reupload":
            state.schedule(due, Removal(key, behaviour.status, host.id))
            state.schedule(due + behaviour.reupload_after / scale, Reupload(key, host.id))
        elif action == "move" and behaviour.move_to is not None:
            state.schedule(due, Move(key, behaviour.move_to, host.id))
        elif action == "forward":
            state.schedule(due, Forwarding(key, host.id))

    def _forwarded(self, forwarding: Forwarding, at: float) -> None:
        """A forwarded notice reaches whoever hosts the URL now (a CDN's origin for a CDN)."""
        state = self.state
        url = state.index.urls[forwarding.url]
        holder = state.holder(url)
        if holder is None:
            return
        if holder.id == forwarding.by:
            # A CDN passes its own notice to the origin; anyone else forwarding to itself stops.
            domain = state.index.registered_domain(url.host)
            origin = state.index.networks.get(domain.origin or "") if domain else None
            if holder.is_cdn and origin is not None:
                self._host_acts(origin, forwarding.url, at)
            return
        self._host_acts(holder, forwarding.url, at)
