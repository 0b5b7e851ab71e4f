"""Human replies: the new words without the quoted history, and whether they claim a removal.

``claims_removed`` is only a hint: it schedules a recheck sooner, and removal still counts only
when the probe verifies it. The patterns are English and Spanish, the languages notices go out
in; a negation nearby ("not removed", "no fue eliminado") cancels the hint.
"""

from __future__ import annotations

import re

MAX_REPLY = 16 * 1024
_QUOTE_START = re.compile(
    r"^(?:On .{0,300}wrote:\s*$|El .{0,300}escribi[oó]:\s*$|Am .{0,300}schrieb.*:\s*$|"
    r"-{2,}\s*(?:Original Message|Mensaje original|Forwarded message|Mensaje reenviado)\s*-{2,}|"
    r"_{10,}\s*$|(?:From|De|Von):\s.+$)",
    re.IGNORECASE,
)
_REMOVED = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:has|have|had|was|were|been|is|are|got)\s+(?:now\s+|already\s+|been\s+)*"
        r"(?:removed|deleted|taken\s+down|taken\s+offline|disabled|suspended|terminated)\b",
        r"\bwe\s+(?:have\s+)?(?:now\s+|already\s+)?(?:removed|deleted|took\s+down|disabled|"
        r"suspended|terminated)\b",
        r"\bno\s+longer\s+(?:available|accessible|online|reachable|hosted)\b",
        r"\b(?:removal|takedown)\s+(?:is\s+|was\s+)?(?:done|complete|completed)\b",
        r"\b(?:fue|fueron|ha\s+sido|han\s+sido|est[aá]n?|qued[oó])\s+(?:ya\s+)?"
        r"(?:eliminad|retirad|removid|borrad|suspendid|deshabilitad|dad[oa]s?\s+de\s+baja)",
        r"\b(?:hemos|ya)\s+(?:eliminado|retirado|removido|borrado|suspendido|dado\s+de\s+baja)",
        r"\b(?:eliminamos|retiramos|removimos|borramos|suspendimos)\b",
        r"\bya\s+no\s+(?:est[aá]|se\s+encuentra)\s+(?:disponible|accesible|en\s+l[ií]nea)",
    )
]
_NEGATED = re.compile(
    r"\b(?:not|never|cannot|can't|unable\s+to|won't|no|nunca|todav[ií]a\s+no)\b[^.!?\n]{0,40}$",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The reply's own words: everything above the first quote header, without ``>`` lines."""
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)[:MAX_REPLY]


def claims_removed(text: str) -> bool:
    """Whether the (quote-stripped) text says the content was removed, in English or Spanish."""
    for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", text[:MAX_REPLY]):
        for pattern in _REMOVED:
            for match in pattern.finditer(sentence):
                if not _NEGATED.search(sentence[: match.start()]):
                    return True
    return False
