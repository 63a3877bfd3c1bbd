"""Treatment/outcome pairs read from a plain-language question by fixed patterns (nothing is executed).

"effect of X on Y", "impact/influence of X on Y", "does X cause/affect/influence/increase Y",
"how does X affect Y"; X and Y must match column names (case, spaces and underscores ignored).
"""

from __future__ import annotations

import re

PATTERNS = [
    r"(?:effect|effects|impact|influence|consequences?)\s+of\s+(?P<t>.+?)\s+(?:on|upon)\s+(?P<y>.+?)(?:[?.!,;]|$)",
    r"(?:does|do|did|can|could|would)\s+(?P<t>.+?)\s+(?:cause|affect|influence|increase|decrease|change|reduce|raise|lower)s?\s+(?P<y>.+?)(?:[?.!,;]|$)",
    r"how\s+(?:does|do)\s+(?P<t>.+?)\s+(?:affect|influence|change)\s+(?P<y>.+?)(?:[?.!,;]|$)",
]


def _norm(s: str) -> str:
    return re.sub(r"[\s_\-]+", "", s.lower())


def _match(phrase: str, columns: list[str]) -> str | None:
    p = _norm(re.sub(r"^(the|a|an)\s+", "", phrase.strip(), flags=re.I))
    exact = [c for c in columns if _norm(c) == p]
    if exact:
        return exact[0]
    inside = [c for c in columns if _norm(c) and _norm(c) in p]
    return max(inside, key=len) if len(inside) >= 1 else None


def pairs_from_question(question: str | None, columns: list[str]) -> list[tuple[str, str]]:
    if not question:
        return []
    out = []
    for pat in PATTERNS:
        for m in re.finditer(pat, question[:1000], flags=re.I):
            t, y = _match(m.group("t"), columns), _match(m.group("y"), columns)
            if t and y and t != y and (t, y) not in out:
                out.append((t, y))
    return out
