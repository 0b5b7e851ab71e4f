"""Where each URL of a world should end after the demo, read from the world's behaviours alone
(not from the engine's routing code): who hosts it, what that party does with a notice, and
who must have heard of it. The demo checks its end state against this; so do its tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.state import WorldState
from sandbox.world.index import WorldIndex
from sandbox.world.model import ContentUrl, Network, Partner, World


@dataclass
class Expected:
    """The end of one URL's story."""

    status: str
    """The case's final status: removed, held or trace_failed (or notified, flagged)."""
    reopened: bool = False
    moved_to: Network | None = None
    escalated: bool = False
    url_states: frozenset[str] = frozenset({"served"})
    """What the sandbox must say about the URL at the end."""
    told: dict[str, int] = field(default_factory=dict)
    """Mailbox -> least number of messages naming the URL it must have received."""
    never_told: frozenset[str] = frozenset()

    @property
    def new_round(self) -> bool:
        """Whether the case must have been notified again (it came back or moved)."""
        return self.reopened or self.moved_to is not None

    @property
    def needs_analyst(self) -> bool:
        """Whether the case must end flagged for an analyst: the ladder ran out."""
        return self.status == "notified"

    def describe(self) -> str:
        """The case's expected end in the words of :func:`describe_end`."""
        return describe_end(self.status, self.escalated, self.new_round, self.needs_analyst)


def describe_end(status: str, escalated: bool, new_round: bool, needs_analyst: bool) -> str:
    """A case's end in a few words (``removed, escalated``), for expected and actual alike."""
    words = [status]
    if escalated:
        words.append("escalated")
    if new_round:
        words.append("notified again")
    if needs_analyst:
        words.append("flagged for an analyst")
    return ", ".join(words)


def expected_outcomes(state: WorldState) -> dict[str, Expected]:
    """Where each URL of the world (by key) should end, from who the world file says hosts it;
    URLs whose story this module cannot tell are left out."""
    found = {}
    for url in state.index.world.urls:
        expected = expected_outcome(state.index, url, state.original_holder_id(url))
        if expected is not None:
            found[url.key] = expected
    return found


def _partner(world: World, kind: str, country: str) -> Partner | None:
    return next((p for p in world.partners if p.kind == kind and p.country == country), None)


def _reached_via(world: World, network: Network) -> str:
    """The mailbox a first notice about content at ``network`` goes to: a partner hotline of
    its country (which forwards it), else the network's abuse desk."""
    hotline = _partner(world, "hotline", network.country)
    return hotline.email if hotline else network.abuse_email


def expected_outcome(index: WorldIndex, url: ContentUrl, holder_id: str | None) -> Expected | None:
    """What the world's behaviours make of ``url`` (``holder_id``: who serves it at first);
    None where they go beyond what this module foresees (a host that forwards notices, a move
    to a host that does more than remove)."""
    world = index.world
    domain = index.registered_domain(url.host)
    if domain is None or domain.status != "active" or holder_id is None:
        return Expected("trace_failed", url_states=frozenset({"unresolvable"}))
    holder = index.networks[holder_id]
    police = _partner(world, "police", holder.country)
    if holder.country == world.hotline.country and police and police.clears_before_host_notice:
        return Expected("held", told={police.email: 1})
    actor = index.networks[domain.origin] if holder.is_cdn and domain.origin else holder
    first = holder.abuse_email if holder.is_cdn else _reached_via(world, holder)
    action = actor.behaviour.action
    removed = frozenset({"removed"})
    dead = any(r.kind == "bounce" for r in actor.replies)
    if dead and actor.also_email and action == "remove" and first == actor.abuse_email:
        # The notice bounces; re-routed to the address in the remarks, where the host acts.
        told = {actor.abuse_email: 1, actor.also_email: 1}
        return Expected("removed", url_states=removed, told=told)
    if action == "remove":
        return Expected("removed", url_states=removed, told={first: 1})
    if action == "reupload":
        return Expected("removed", reopened=True, url_states=removed, told={first: 2})
    if action == "move":
        target = index.networks.get(actor.behaviour.move_to or "")
        if target is None or target.behaviour.action != "remove":
            return None
        told = {first: 1, _reached_via(world, target): 1}
        return Expected("removed", moved_to=target, url_states=removed, told=told)
    if action != "ignore":
        return None
    registrar = index.registrars[domain.registrar]
    hotline = _partner(world, "hotline", holder.country)
    if hotline is not None:  # the partner hotline hears the escalation, not the registrar
        told = {hotline.email: 2}
        return Expected(
            "notified", escalated=True, told=told, never_told=frozenset({registrar.abuse_email})
        )
    told = {holder.abuse_email: 2, registrar.abuse_email: 1}
    if police is not None:
        told[police.email] = 2
    if registrar.behaviour.action == "suspend":
        return Expected("removed", escalated=True, url_states=frozenset({"suspended"}), told=told)
    return Expected("notified", escalated=True, told=told)
