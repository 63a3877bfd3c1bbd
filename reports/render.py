"""Render report.md and a self-contained report.html from jinja2 templates.

The HTML environment autoescapes everything; the Markdown environment escapes table-breaking and
markup characters in every value it prints, so column names or cell values carrying markup or
prompt-injection text are shown as text, never interpreted.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from causalpilot.reports import interpret
from causalpilot.reports.assumptions import assumptions
from causalpilot.reports.numbers import number
from causalpilot.tools.graph import CausalGraph

TEMPLATES = Path(__file__).parent / "templates"


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def md_escape(value: Any) -> Any:
    """Neutralise what could break a table or become markup: pipes, backticks, newlines, and a '<' that
    could open an HTML tag ('<script', '</', '<!--'). Arrows such as '-->' and comparisons stay readable."""
    if not isinstance(value, str):
        return "" if value is None else value
    value = value.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("\r", " ").replace("\n", " ")
    return _TAG_START.sub("&lt;", value)


def choice_text(choice: Any) -> str:
    text = choice if isinstance(choice, str) else json.dumps(choice, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def _env(kind: str) -> Environment:
    if kind == "html":
        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"], default=True),
                          undefined=StrictUndefined, keep_trailing_newline=True)
    else:
        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, finalize=md_escape,
                          undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["num"] = lambda v: _num(v) if isinstance(v, (int, float)) or v is None else v
    return env


NO_SUPPORT_MARK = " (not supported: no common support)"  # beside an estimate the data do not support


def _num(v: Any) -> str:
    """A number in a table: four significant digits, thousands separators (reports.numbers)."""
    return number(v, 4)


def build_context(*, run_id: str, version: str, seed: int, planner: str, data_name: str, data_sha256: str,
                  question: str | None, profile: dict[str, Any], graph: CausalGraph, effects: list[dict],
                  decisions: list[dict], background_notes: list[str], graph_png: bytes,
                  forbidden: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Everything the templates print. ``forbidden``: the user's forbidden edges, so that an effect of
    zero that only a prohibition produced is said to come from it (interpret.forbidden_behind)."""
    edges = []
    for e in graph.edges:
        text = e.describe()
        conf = "—" if e.confidence is None else f"{e.confidence:.2f}"
        if e.link_differs():
            conf += f" (link {e.link_confidence:.2f})"
        link = e.adjacency_confidence
        edges.append({"text": text, "reading": interpret.edge_sentence(e, graph.parameters.get("lag_unit")), "conf": conf,
                      "unstable": link is not None and link < interpret.UNSTABLE_BELOW})
    effs = []
    for eff in effects:
        split = "per level (below)" if eff.get("contrasts") else "per lag (below)" if eff.get("lags") else None
        because = interpret.forbidden_behind(eff, graph, list(forbidden or []))
        effs.append({
            **eff,
            "reading": interpret.effect_sentence(eff, because),
            "estimate_text": split or _num(eff.get("estimate")) + (NO_SUPPORT_MARK if eff.get("no_support") else ""),
            "ci_text": "—" if split else f"[{_num(eff.get('ci_low'))}, {_num(eff.get('ci_high'))}]",
            "adjustment_text": ("one per orientation (below)" if eff.get("estimates") else
                                "per lag (below)" if eff.get("lags") else
                                ", ".join(eff.get("adjustment_set") or []) or "∅"),
            # the hidden-confounder analysis has a new effect only against a measured benchmark
            "refutations": [{**r, "new_effect_text": _num(r.get("new_effect") if not r["name"].startswith(
                                 "unobserved") or r.get("benchmark") else None), "p_text": _num(r.get("p_value")),
                             "passed_text": {True: "yes", False: "NO", None: "n/a"}[r.get("passed")],
                             "meaning": interpret.refutation_reading(r, eff)}
                            for r in eff.get("refutations", [])],
            "orientations": [{**p, "estimate_text": _num(p.get("estimate")) + (NO_SUPPORT_MARK if p.get("no_support") else ""),
                              "ci_text": f"[{_num(p.get('ci_low'))}, {_num(p.get('ci_high'))}]"}
                             for p in eff.get("estimates") or []],
            "notes": eff.get("notes", []),
        })
    decs = [{**d, "choice_text": choice_text(d["choice"])} for d in decisions]
    findings = [{"name": k.replace("_", " "), "summary": v.get("summary", "")} for k, v in profile["findings"].items()]
    gsum = interpret.graph_summary(graph)
    # the one summary of the report: the answer to the question first, then what the graph says; the
    # sections below give the details without repeating it
    summary = [*(e["reading"] for e in effs), gsum]
    unread = [d["reason"] for d in decisions if d.get("step") == "inference.pairs" and not d.get("choice")]
    return {
        "run_id": run_id, "version": version, "seed": seed, "planner": planner,
        "data": {"name": data_name, "sha256": data_sha256}, "question": question, "profile": profile,
        "question_note": (unread[0][0].upper() + unread[0][1:] + ".") if unread and not effs else None,
        "graph_summary": gsum, "summary": summary, "edges": edges, "effects": effs, "decisions": decs,
        "findings": findings,
        "caveats": interpret.caveats(graph.algorithm, profile, graph, background_notes, effects=effects)
        + [f"{line[0].upper()}{line[1:]}." for d in decisions if d.get("step") == "discovery.edges_into_roots"
           for line in d["evidence"]["edges"]],
        "assumptions": assumptions(decisions, effects, profile, background_notes),
        "graph_png_b64": base64.b64encode(graph_png).decode("ascii"),
    }


def render(context: dict[str, Any]) -> tuple[str, str]:
    """Return (markdown, html)."""
    md = _env("md").get_template("report.md.j2").render(**context)
    html = _env("html").get_template("report.html.j2").render(**context)
    return md, html
