"""The report's narrative, grounded in the run's results.

The LLM writes a short narrative from the run's checked facts (:func:`narrative_facts`: the graph,
each effect's identification status, estimate, interval, range over orientations and refutations).
Before it reaches the report, :func:`check_narrative` holds it to those facts: every number it states
must be one of the results within the rounding it is written with (0.74 stands for 0.735 to 0.745;
74% for 0.735 to 0.745), and it may not claim certainty ("certain", "proves", "definitely", ...)
about an effect that is not identified or whose refutation failed. The planner retries once with the
reasons; a second refusal gives :func:`templated_narrative`, built from the report's own sentences.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field

# a number not glued to a word (so X1, log2 and 3rd are names, not figures), with an optional sign,
# thousands separators, decimals, exponent and per cent
NUMBER = r"(?<![\w.])([-+−]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:[eE]([-+]?\d+))?(\s?%)?(?![\w])"
CERTAINTY = (r"(?i)\b(certain(?:ly|ty)?|prove[sdn]?|proof|proving|definite(?:ly)?|definitive(?:ly)?|undoubted(?:ly)?|"
             r"conclusive(?:ly)?|guarantee[sd]?|beyond (?:any |all )?doubt|without (?:any )?doubt|no doubt)\b")
NEGATION = r"(?i)\b(not|no|never|cannot|can't|isn't|aren't|neither|nor|without)\b"
CONVENTIONS = {"95%", "95 %", "5%", "5 %", "0.05"}  # the interval's level and the tests' significance level


class Narrative(BaseModel):
    """The narrative the report shows: ``source`` says whether the model wrote it or it was templated."""

    summary: str = Field(min_length=1, max_length=3000)
    caveats: list[str] = Field(default_factory=list, max_length=8)
    source: Literal["llm", "template"] = "llm"


def parse_narrative(text: str) -> Narrative:
    """Parse the model's JSON answer (tolerating prose or code fences around it) with pydantic;
    ValueError (pydantic's ValidationError is one) when it is not the object asked for."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    data = json.loads(text[start:end + 1])
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return Narrative.model_validate({k: v for k, v in data.items() if k != "source"})


def narrative_facts(ctx: dict[str, Any], effects: list[dict]) -> dict[str, Any]:
    """The checked facts of a run that the narrative may draw on (no raw data): ``ctx`` is the report
    context of :func:`causalpilot.reports.render.build_context`, ``effects`` the effects.json entries."""
    return {
        "algorithm": next((d["choice"] for d in ctx["decisions"] if d["step"] == "discovery.algorithm"), None),
        "data": {"rows": ctx["profile"].get("n_rows"), "variables": len(ctx["profile"].get("variables", []))},
        "graph": ctx["graph_summary"],
        "edges": [{"edge": e["text"], "confidence": e["conf"]} for e in ctx["edges"]],
        "effects": [effect_facts(eff) for eff in effects],
        "readings": list(ctx["summary"]),
        "caveats": ctx["caveats"],
        "llm_decisions": [{"step": d["step"], "choice": d["choice_text"], "reason": d["reason"]}
                          for d in ctx["decisions"] if d.get("by") == "llm"],
    }


def effect_facts(eff: dict[str, Any]) -> dict[str, Any]:
    """What the narrative may say of one effect: identified or not, estimate, interval, range, refutations."""
    out = {k: eff.get(k) for k in ("treatment", "outcome", "identified", "estimand", "method", "estimate",
                                   "ci_low", "ci_high", "adjustment_set")}
    if eff.get("estimate_range") is not None:
        out["estimate_range"] = eff["estimate_range"]
    if eff.get("structural_zero"):
        out["structural_zero"] = True
    out["refutations"] = [{"name": r.get("name"), "passed": r.get("passed"), "p_value": r.get("p_value"),
                           "new_effect": r.get("new_effect")} for r in eff.get("refutations", [])]
    for key in ("contrasts", "lags"):
        if eff.get(key):
            out[key] = [{k: c.get(k) for k in ("level", "lag", "estimate", "ci_low", "ci_high", "estimate_range")
                         if k in c} for c in eff[key]]
    return out


def compact_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts for a model whose context is too small for them all: without the edge list and the
    planner's decisions, each effect's refutations as the names of those that failed and how many
    passed, and the first two readings. Every number in it is one of ``facts``'."""
    out = {k: v for k, v in facts.items() if k not in ("edges", "llm_decisions", "effects", "readings")}
    out["readings"] = list(facts.get("readings") or [])[:2]
    out["effects"] = []
    for eff in facts.get("effects") or []:
        refs = eff.get("refutations") or []
        e = {k: v for k, v in eff.items() if k != "refutations"}
        e["refutations_failed"] = [r.get("name") for r in refs if r.get("passed") is False]
        e["refutations_passed"] = sum(r.get("passed") is True for r in refs)
        out["effects"].append(e)
    return out


def _numbers_in(value: Any) -> Iterator[float]:
    """Every number in the facts: numeric values, and figures written inside their sentences."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, str):
        for m in re.finditer(NUMBER, value):
            yield _value(m)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers_in(v)


def _value(m: re.Match) -> float:
    sign, whole, frac, exp, pct = m.groups()
    v = float(whole.replace(",", "") + (frac or "")) * (10 ** int(exp) if exp else 1)
    v = -v if sign in ("-", "−") else v
    return v / 100 if pct else v


def _half_unit(m: re.Match) -> float:
    """Half the last stated digit of a figure, in its own units (0.74 -> 0.005, 74% -> 0.005, 12 -> 0.5)."""
    _sign, _whole, frac, exp, pct = m.groups()
    unit = 10.0 ** -(len(frac) - 1 if frac else 0) * (10 ** int(exp) if exp else 1)
    return unit / 2 / (100 if pct else 1)


def stated_numbers(text: str) -> list[tuple[str, float, float]]:
    """(as written, value, half unit of its last digit) for every figure in ``text``."""
    return [(m.group(0).strip(), _value(m), _half_unit(m)) for m in re.finditer(NUMBER, text)]


def check_narrative(story: Narrative, facts: dict[str, Any], question: str | None = None) -> list[str]:
    """Why the narrative cannot be shown (empty when it can): figures that match no result within the
    rounding they are written with, and claims of certainty about an effect that is not identified or
    whose refutation failed."""
    known = [*_numbers_in(facts), *_numbers_in(question or "")]
    known += [100 * v for v in known if abs(v) <= 1]  # a share written as a percentage without the sign
    problems = []
    text = " ".join([story.summary, *story.caveats])
    for written, value, half in stated_numbers(text):
        if written in CONVENTIONS:
            continue
        # a result k is written as this figure when it rounds to it: |figure - k| below half its last digit
        close = lambda x, k: abs(x - k) < half - 1e-12 or abs(x - k) <= 1e-12  # noqa: E731
        if not any(close(value, k) or close(abs(value), abs(k)) and _says_size(text, written) for k in known):
            problems.append(f"the figure {written} is not among the results (to the rounding it is written with)")
    doubtful = [e for e in facts.get("effects", []) if e.get("identified") is False
                or any(r.get("passed") is False for r in e.get("refutations", []))]
    if doubtful:
        for m in re.finditer(CERTAINTY, text):
            before = text[max(0, m.start() - 40):m.start()]
            if re.search(NEGATION, " ".join(before.split()[-4:])):
                continue
            which = ", ".join(f"{e['treatment']} -> {e['outcome']}" for e in doubtful)
            problems.append(f"'{m.group(0)}' claims certainty, but the effect of {which} is not identified or failed "
                            "a refutation")
            break
    return problems


def _says_size(text: str, written: str) -> bool:
    """A figure written without its sign is accepted for a negative result only when the sentence
    says which way it goes ("lowers by 0.3", "a decrease of 0.3")."""
    at = text.find(written)
    window = text[max(0, at - 60):at].lower()
    return any(w in window for w in ("lower", "reduc", "decreas", "fall", "drop", "less", "negative", "down"))


def templated_narrative(facts: dict[str, Any]) -> Narrative:
    """The narrative from the report's own checked sentences, when the model's was refused twice."""
    summary = " ".join(facts.get("readings") or [facts.get("graph") or "No summary."])
    return Narrative(summary=summary[:3000], caveats=[str(c) for c in facts.get("caveats", [])[:4]],
                     source="template")
