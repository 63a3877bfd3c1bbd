"""The report's "Assumptions" section: what the run assumed, what the data say about it, and what would
change the answer (issue #23, item 4), built from the run's decisions and effects."""

from __future__ import annotations

from typing import Any

from causalpilot.reports import interpret
from causalpilot.reports.numbers import p_text


def _row(assumed: str, support: str, change: str) -> dict[str, str]:
    return {"assumed": assumed, "support": support, "change": change}


def _knowledge_rows(steps: dict[str, dict[str, Any]], background_notes: list[str]) -> list[dict[str, str]]:
    rows = []
    bg = steps.get("discovery.background")
    if bg:
        k = bg["choice"]
        parts = [f"{len(k.get('tiers') or [])} tier(s)" if k.get("tiers") else "",
                 f"{len(k.get('required') or [])} required edge(s)" if k.get("required") else "",
                 f"{len(k.get('forbidden') or [])} forbidden edge(s)" if k.get("forbidden") else ""]
        rows.append(_row("Your background knowledge (" + ", ".join(p for p in parts if p) + ") is true.",
                         "Taken as given, not tested; it changed " + (f"{len(background_notes)} edge(s) of the graph"
                                                                      if background_notes else "no edge of the graph")
                         + ".",
                         "Different tiers or edges can reverse directions and so change the adjustment set and the "
                         "estimate."))
    order = steps.get("discovery.effect_order")
    if order and order["choice"]:
        t, y = order["evidence"].get("treatment"), order["evidence"].get("outcome")
        rows.append(_row(f"{y} does not cause {t}.",
                         "Presumed by asking for the effect of the one on the other; the data alone cannot settle it.",
                         f"If {y} can feed back into {t} (reverse causation), rerun with --no-order and read the "
                         "directions the data give."))
    rand = steps.get("discovery.randomised_treatment")
    if rand:
        check = rand["evidence"]["check"]
        t = check["treatment"]
        if rand["choice"]:
            rows.append(_row(f"{t} was assigned at random: nothing measured or hidden caused it.",
                             f"{t} is independent of the {len(check['covariates'])} measured covariates "
                             f"(joint likelihood-ratio test {p_text(check['p_value'])}, above the level {check['alpha']}).",
                             "A balance test cannot see hidden variables: if assignment followed something "
                             "unmeasured, the difference in means is biased; compare it with the covariate-adjusted "
                             "estimate beside it."))
        else:
            rows.append(_row(f"{t} is not taken as randomised.",
                             f"{t} depends on the covariates (joint likelihood-ratio test {p_text(check['p_value'])}, "
                             f"at or below the level {check['alpha']}).",
                             "Its effect rests on adjusting for the confounders measured (below)."))
    roots = steps.get("discovery.roots")
    if roots:
        demo = [r["name"] for r in roots["evidence"]["proposed"] if r["kind"] == "demographic"]
        if demo and roots["choice"]:
            rows.append(_row(", ".join(demo) + " are fixed at birth: nothing measured causes them (first tier).",
                             "Recognised by name and by being binary/categorical or constant within units.",
                             "If one was recorded after the treatment or derived from later events, allow edges into it "
                             "with --background tiers of your own (they win)."))
    return rows


def _adjusted_for(adjust: list[str] | None) -> str:
    return ", ".join(adjust or []) or "nothing"


def _sets_text(sets: list[list[str] | None]) -> str:
    """Adjustment sets in words: "age, sex" for one, "nothing or {age}" for several (repeats dropped)."""
    unique = list(dict.fromkeys(tuple(a or []) for a in sets))
    if len(unique) <= 1:
        return _adjusted_for(list(unique[0]) if unique else [])
    return " or ".join("{" + ", ".join(a) + "}" if a else "nothing" for a in unique)


def _hidden_cause_row(eff: dict[str, Any], randomised: bool) -> dict[str, str] | None:
    """The no-hidden-confounding row, naming the adjustment the reported estimate used: its one set,
    every orientation's set when the graph leaves several (IDA), or each lag's; None for a zero the graph
    implies (its row is the missing link's, below)."""
    t, y = eff["treatment"], eff["outcome"]
    if eff.get("structural_zero") and not (eff.get("zero_check") or {}).get("contradicted"):
        return None
    parts = [p for p in eff.get("estimates") or [] if not p.get("structural_zero")]
    if eff.get("lags"):
        scopes = []
        sets = [f.get("adjustment_set") for x in eff["lags"] for f in (x.get("estimates") or [x])]
        once = f"once {_sets_text(sets)} is adjusted for (per lag)"
    elif parts:
        scopes = [({**p, "treatment": t, "outcome": y}, p.get("adjustment_set")) for p in parts]
        once = f"once {_sets_text([a for _, a in scopes])} is adjusted for"
        if len(scopes) > 1:
            once += " (one set per direction the graph leaves open)"
    else:
        scopes = [(eff, eff.get("adjustment_set"))]
        once = f"once {_sets_text([eff.get('adjustment_set')])} is adjusted for"
    readings, robust = [], False
    for scope, adjust in scopes:
        sens = interpret._sensitivity(scope.get("refutations") or [])
        robust = robust or bool(sens and sens.get("robustness_value") is not None)
        words = interpret.refutation_reading(sens, scope) if sens else ""
        if words:
            readings.append(f"adjusting for {_adjusted_for(adjust)}: {words}" if len(scopes) > 1 else words)
    if randomised:
        support = "Randomisation makes it hold by design for the difference in means."
    else:
        support = "; ".join(readings) or "Not testable from these data; no sensitivity analysis was run for this estimate."
    change = ("A hidden confounder strong enough to explain the robustness value away" if robust else
              f"A hidden common cause of {t} and {y}")
    return _row(f"No hidden common cause of {t} and {y} {once}.", support,
                change + ", or a measured variable that is in fact caused by the treatment, would change the estimate.")


def _effect_rows(eff: dict[str, Any], randomised: bool, linear_note: str | None) -> list[dict[str, str]]:
    t, y = eff["treatment"], eff["outcome"]
    rows = [r for r in [_hidden_cause_row(eff, randomised)] if r]
    zc = eff.get("zero_check")
    if eff.get("structural_zero") and not zc:
        rows.append(_row(f"The graph's missing causal path from {t} to {y} is real.",
                         "Taken from the graph; not checked separately against the data for this estimate.",
                         "A link the search missed (few rows, a weak or cancelling effect) would make the effect "
                         "non-zero; knowledge (a required edge) could show it."))
    if zc:
        rows.append(_row(f"The graph's missing link from {t} to {y} is real.",
                         (f"No: given the weakest adjustment the data still show dependence ({p_text(zc['p_value'])}); "
                          "the estimate reported is the adjusted one.") if zc.get("contradicted") else
                         f"Yes: given the weakest adjustment the data show no dependence ({p_text(zc['p_value'])}).",
                         "More data or knowledge (a required edge) could show the link."))
    method = str(eff.get("method") or "")
    if "linear" in method or "regression" in method:
        rows.append(_row(f"The effect of {t} on {y} is linear and the same for everyone, and the adjustment is linear.",
                         linear_note or "Not checked.",
                         "A nonlinear or heterogeneous effect would make the single number an average; --cate-by "
                         "shows it by group."))
    return rows


def assumptions(decisions: list[dict[str, Any]], effects: list[dict[str, Any]], profile: dict[str, Any],
                background_notes: list[str]) -> list[dict[str, str]]:
    """Rows of (assumed, what the data support, what would change the answer) for the report."""
    steps = {d["step"]: d for d in decisions}
    rows = _knowledge_rows(steps, background_notes)
    rand = steps.get("discovery.randomised_treatment")
    lin = (profile.get("findings") or {}).get("linearity")
    linear_note = lin.get("summary") if isinstance(lin, dict) else None
    for eff in effects:
        randomised = bool(rand and rand["choice"] and rand["evidence"]["check"]["treatment"] == eff.get("treatment")
                          and eff.get("experiment"))
        rows += _effect_rows(eff, randomised, linear_note)
    return rows
