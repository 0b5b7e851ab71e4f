"""The removal probe: is a reported URL's content still served? It streams the answer through
SHA-256 and throws the bytes away, and connects only where its address policy allows."""

from hosting.probe.outcome import ProbeOutcome, ProbeResult
from hosting.probe.prober import ProbeLimits, Prober, build_prober

__all__ = ["ProbeLimits", "ProbeOutcome", "ProbeResult", "Prober", "build_prober"]
