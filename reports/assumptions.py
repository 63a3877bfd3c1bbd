"""The report's "Assumptions" section: what the run assumed, what the data say about it, and what would
change the answer (issue #23, item 4), built from the run's decisions and effects."""

from __future__ import annotations

from typing import Any

from causalpilot.reports import interpret


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
                             f"(joint likelihood-ratio test p = {check['p_value']:.3g} > {check['alpha']}).",
                             "A balance test cannot see hidden variables: if assignment followed something "
                             "unmeasured, the difference in means is biased; compare it with the covariate-adjusted "
                             "estimate beside it."))
        else:
            rows.append(_row(f"{t} is not taken as randomised.",
                             f"{t} depends on the covariates (joint likelihood-ratio test p = {check['p_value']:.3g} "
                             f"<= {check['alpha']}).",
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


def _effect_rows(eff: dict[str, Any], randomised: bool, linear_note: str | None) -> list[dict[str, str]]:
    t, y = eff["treatment"], eff["outcome"]
    rows = []
    adjust = ", ".join(eff.get("adjustment_set") or []) or "nothing"
    sens = next((r for r in eff.get("refutations") or [] if r["name"].startswith("unobserved")), None)
    reading = interpret.refutation_reading(sens, eff) if sens else ""
    if randomised:
        support = "Randomisation makes it hold by design for the difference in means."
    else:
        support = reading or "Not testable from these data; no sensitivity analysis was run for this estimate."
    rows.append(_row(f"No hidden common cause of {t} and {y} once {adjust} is adjusted for.", support,
                     "A hidden confounder strong enough to explain the robustness value away, or a measured "
                     "variable that is in fact caused by the treatment, would change the estimate."))
    zc = eff.get("zero_check")
    if zc:
        rows.append(_row(f"The graph's missing link from {t} to {y} is real.",
                         (f"No: given the weakest adjustment the data still show dependence (p = {zc['p_value']:.3g}); "
                          "the estimate reported is the adjusted one.") if zc.get("contradicted") else
                         f"Yes: given the weakest adjustment the data show no dependence (p = {zc['p_value']:.3g}).",
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
