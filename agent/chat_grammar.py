"""The chat's offline grammar: which sentences it reads and the actions each one means.

:func:`read_request` turns one message into the session's actions (the same actions the LLM chat's
tools produce), with no state of its own: ``load FILE``, ``rerun``, ``use fci`` (with settings),
``forbid A -> B``, ``forbid edges into A``, ``require A -> B``, ``effect of X on Y``, ``compare g1 g2``,
``what causes X`` (its parents in the current graph) and ``what does X cause`` (its children), the
slash commands in plain words (:func:`plain_command`: "help", "show graph"), and the settings of ``analyse`` ("alpha 0.01 and the kci test", "bootstrap 50", "seed 3", "treatment smoking"). The session (:mod:`causalpilot.agent.chat`) applies them.
"""

from __future__ import annotations

import re
from typing import Any, Union

from causalpilot.tools.errors import InputError

Action = tuple[str, dict[str, Any]]
Reading = Union[list[Action], tuple[str, str], str]  # actions, ("load", path), or "rerun"

# the settings of `analyse` that a sentence can carry, one clause each ("alpha 0.01", "the kci test", ...)
_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)"
_SETTING_CLAUSES = [
    ("set_alpha", rf"(?:an?\s+|the\s+)?(?:alpha|significance(?:\s+level)?)\s*(?:=|:|of|to|at|is)?\s*{_NUMBER}"),
    ("set_indep_test", r"(?:an?\s+|the\s+)?(?:indep(?:endence)?|ci|conditional\s+independence)?[\s_-]*test\s*"
                       r"(?:=|:|to|is)?\s*([\w-]+)"),
    ("set_indep_test", r"(?:an?\s+|the\s+)?([\w-]+)(?:\s+(?:indep(?:endence)?\s+|ci\s+)?test)?"),
    ("set_bootstrap", r"(\d+)\s+(?:bootstrap\s+)?resamples?|(?:the\s+)?bootstrap\s*(?:=|:|of|to|with|is)?\s*(\d+)"
                      r"(?:\s+resamples?)?|(\d+)\s+bootstraps?|(no)\s+bootstrap"),
    ("set_seed", r"(?:the\s+)?(?:random\s+)?seed\s*(?:=|:|of|to|is)?\s*(\d+)"),
    ("set_treatment", r"(?:the\s+)?treatment\s*(?:=|:|to|is)?\s*(.+)"),
    ("set_outcome", r"(?:the\s+)?outcome\s*(?:=|:|to|is)?\s*(.+)"),
]


def _ci_tests() -> set[str]:
    from causalpilot.tools.discovery.time_series import TS_CI_TESTS
    from causalpilot.tools.registry import CI_TESTS

    return set(CI_TESTS) | set(TS_CI_TESTS)


def setting_actions(text: str) -> list[tuple[str, dict[str, Any]]] | None:
    """The grammar's reading of settings ("alpha 0.01 and the kci test", "bootstrap 50, seed 3"):
    one action per clause, or None unless every clause is a setting. A bare word counts as a test
    only when it names an independence test (registry.CI_TESTS or tigramite's)."""
    clauses = [c.strip() for c in re.split(r"\s*(?:,|;|\band\b)\s*", text) if c.strip()]
    if not clauses:
        return None
    tests = _ci_tests()
    actions: list[tuple[str, dict[str, Any]]] = []
    for clause in clauses:
        for kind, pattern in _SETTING_CLAUSES:
            m = re.fullmatch(pattern, clause, re.I)
            if not m:
                continue
            value = next(g for g in m.groups() if g is not None)
            if kind == "set_indep_test" and value.lower() not in tests and "test" not in clause.lower():
                continue  # "use fci" is an algorithm, not a test
            actions.append((kind, {"value": value}))
            break
        else:
            return None
    return actions



def _pair(text: str) -> tuple[str, str] | None:
    m = re.fullmatch(r"\s*(.+?)\s*(?:->|-->|→)\s*(.+?)\s*", text)
    return (m.group(1), m.group(2)) if m else None



def read_request(msg: str) -> Reading | None:
    """The grammar's reading of one chat message: a list of actions (name, arguments), ("load", path),
    "rerun", or None when the message is not one of its sentences. Raises :class:`InputError` for a
    sentence it recognises but cannot read (e.g. unreadable settings after "use pc with")."""
    text = " ".join(msg.split()).rstrip("?.! ")  # continued lines and stray spaces read as one sentence
    low = text.lower()
    if m := re.fullmatch(r"load\s+(.+)", text, re.I):
        return ("load", m.group(1).strip())
    lead = re.sub(r"^(?:please\s+)?(?:set|use|with|change)\s+", "", text, flags=re.I)
    if lead != text or not re.match(r"(?:forbid|require|effect|compare|what|load)\b", text, re.I):
        settings = setting_actions(lead)
        if settings:
            return settings
    if m := re.fullmatch(r"(?:please\s+)?(?:use|run)\s+([\w-]+)(?:\s+instead)?(?:\s+with\s+(.+?))?(?:\s+instead)?",
                         text, re.I):
        settings = setting_actions(m.group(2)) if m.group(2) else []
        if settings is None:
            raise InputError(f"I could not read the settings '{m.group(2)}'; say e.g. 'use pc with alpha 0.01 "
                             "and the kci test'.")
        return [("use_algorithm", {"algorithm": m.group(1)}), *settings]
    if m := re.fullmatch(r"forbid\s+(?:all\s+)?edges\s+(into|out of|from)\s+(.+)", text, re.I):
        kind = "forbid_edges_into" if m.group(1).lower() == "into" else "forbid_edges_out_of"
        return [(kind, {"column": m.group(2).strip()})]
    if m := re.fullmatch(r"(forbid|require)\s+(?:the\s+)?(?:edge\s+)?(.+)", text, re.I):
        pair = _pair(m.group(2))
        if pair:
            return [(f"{m.group(1).lower()}_edge", {"source": pair[0], "target": pair[1]})]
    if m := re.fullmatch(r"(?:what\s+is\s+)?(?:the\s+)?(?:causal\s+)?effect\s+of\s+(.+?)\s+on\s+(.+)", text, re.I):
        return [("estimate_effect", {"treatment": m.group(1), "outcome": m.group(2)})]
    if m := re.fullmatch(r"what\s+(?:causes|are\s+the\s+causes\s+of)\s+(?:the\s+)?(.+)", text, re.I):
        return [("query_graph", {"query": "parents", "node": m.group(1)})]
    if m := re.fullmatch(r"what\s+does\s+(?:the\s+)?(.+?)\s+(?:cause|affect)", text, re.I):
        return [("query_graph", {"query": "children", "node": m.group(1)})]
    if m := re.fullmatch(r"compare\s+(\S+)\s+(?:with\s+|and\s+|to\s+)?(\S+)", text, re.I):
        return [("compare_graphs", {"first": m.group(1), "second": m.group(2)})]
    if low in ("rerun", "run", "run again"):
        return "rerun"
    return None


# the slash commands in plain words: "help", "show graph", "show the graph g1", "effects", "save g2"
_PLAIN_COMMANDS = [
    (r"help|commands|\?", "help"),
    (r"(?:show|list)\s+(?:the\s+|all\s+|my\s+)?graphs|graphs", "graphs"),
    (r"(?:show|draw|print)(?:\s+me)?\s+(?:the\s+)?graph(?:\s+([A-Za-z0-9_.-]+))?|graph(?:\s+([A-Za-z0-9_.-]+))?", "graph"),
    (r"(?:show|list)(?:\s+me)?\s+(?:the\s+)?effects|effects", "effects"),
    (r"(?:show|open)(?:\s+me)?\s+(?:the\s+)?report|report", "report"),
    (r"(?:show|list)(?:\s+me)?\s+(?:the\s+)?history|history", "history"),
    (r"save(?:\s+(?:it|the\s+graph|graph))?(?:\s+as)?(?:\s+([A-Za-z0-9_.-]+))?", "save"),
]


def plain_command(msg: str) -> str | None:
    """The slash command a message in plain words stands for ("help" -> "/help", "show graph g1" ->
    "/graph g1", "save as g2" -> "/save g2"), or None when it is not one."""
    text = " ".join(msg.split()).rstrip(".! ")
    if text == "?":
        return "/help"
    text = text.rstrip("?")
    for pattern, name in _PLAIN_COMMANDS:
        m = re.fullmatch(pattern, text, re.I)
        if m:
            arg = next((g for g in m.groups() if g), "")
            return f"/{name} {arg}".strip()
    return None

