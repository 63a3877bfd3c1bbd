"""Plain-language readings of results, generated from templates rather than written by hand per run.

Each function turns a result into sentences a domain expert can read, stating what the method can
and cannot say (an undirected edge is *not identifiable*, a low-confidence edge is *unstable*).
"""

from __future__ import annotations

from typing import Any

from causalpilot.reports.numbers import interval, number, p_text, share  # noqa: F401  (p_text: read here by callers too)
from causalpilot.tools.bootstrap import UNSTABLE_BELOW
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.registry import deletes_testwise

EDGE_READING = {
    "directed": "{s} is a direct cause of {t} (relative to the measured variables)",
    "undirected": "{s} and {t} are directly linked, but the data cannot tell which causes which "
                  "(the direction is not identifiable from these data)",
    "bidirected": "{s} and {t} share a hidden common cause (neither causes the other directly)",
    "partially_directed": "{t} is not a cause of {s}; either {s} causes {t} or a hidden variable drives both",
    "nondirected": "{s} and {t} are linked, but neither the direction nor the absence of hidden "
                   "confounding is determined",
}

ASSUMPTIONS = {
    "pc": ["causal sufficiency (no unmeasured common causes)", "faithfulness", "acyclicity",
           "the independence test's model fits the data"],
    "fci": ["faithfulness", "acyclicity", "the independence test's model fits the data "
            "(hidden confounders and selection are allowed)"],
    "ges": ["causal sufficiency", "acyclicity", "the score's model fits the data (linear-Gaussian for BIC)"],
    "direct_lingam": ["linear relations", "non-Gaussian, independent noise", "causal sufficiency", "acyclicity"],
    "ica_lingam": ["linear relations", "non-Gaussian, independent noise", "causal sufficiency", "acyclicity"],
    "cdnod": ["the domain/time index captures every change of mechanism", "faithfulness", "acyclicity",
              "no hidden common causes apart from the changing context"],
    "grasp": ["causal sufficiency", "acyclicity", "the score's model fits the data (linear-Gaussian for BIC)"],
    "boss": ["causal sufficiency", "acyclicity", "the score's model fits the data (linear-Gaussian for BIC)"],
    "exact_search": ["causal sufficiency", "acyclicity", "the score's model fits the data (linear-Gaussian for BIC)"],
    "notears": ["linear relations", "causal sufficiency", "acyclicity",
                "variables on their natural, comparable scales (directions follow the variances)"],
    "markov_blanket": ["causal sufficiency", "faithfulness", "only the target's neighbourhood is examined; directions "
                       "among the blanket are not established by a local run (only a collider at the target is "
                       "oriented; the other edges are left undirected)"],
    "pcmci": ["stationarity", "causal sufficiency", "no contemporaneous effects", "the CI test's model fits the data"],
    "pcmci_plus": ["stationarity", "causal sufficiency", "faithfulness", "the CI test's model fits the data"],
    "lpcmci": ["stationarity", "faithfulness", "the CI test's model fits the data (hidden confounders allowed)"],
    "granger": ["linear, stationary dynamics", "no hidden common drivers", "no contemporaneous effects "
                "(Granger causality is predictive, not structural)"],
    "var_lingam": ["linear, stationary dynamics", "non-Gaussian, independent noise", "causal sufficiency"],
}


# where an edge's direction came from, when not from the algorithm on the data (Edge.orientation)
ORIENTATION_READING = {
    "background": "the direction comes from the background knowledge",
    "additive_noise": "the direction comes from an additive-noise model",
    "domain_change": "the direction follows from mechanisms that change across domains",
    "llm_review": "oriented by domain knowledge (the LLM's review; not a finding of the data)",
}


def edge_sentence(e: Edge, lag_unit: str | None = None) -> str:
    """One sentence reading an edge: its type, lag (in ``lag_unit``, one step of the time index such as
    'day', when known), where its direction came from (its :class:`~causalpilot.tools.graph.Orientation`)
    and its bootstrap confidence."""
    text = EDGE_READING[e.type].format(s=e.source, t=e.target)
    if e.lag:
        from causalpilot.tools.profile.time_grid import plural

        text += f", with a delay of {plural(lag_unit, e.lag) if lag_unit else f'{e.lag} step(s)'}"
    if e.type == "directed" and e.orientation is not None and e.oriented_by in ORIENTATION_READING:
        text += "; " + ORIENTATION_READING[e.oriented_by]
        if e.orientation.reason:
            text += f": {e.orientation.reason}" if e.oriented_by == "llm_review" else f" ({e.orientation.reason})"
    if e.confidence is not None:
        link = e.link_confidence
        if not e.adjacency_confidence:  # kept by the full-data run, never found again under resampling
            return text + ("; found on the full data but in none of the bootstrap resamples: the full-data run and "
                           "the resamples disagree, so the link rests on this one sample (a test near its threshold; "
                           "treat it as doubtful).")
        if not e.link_differs():
            text += f"; found in {e.confidence:.0%} of bootstrap resamples"
            if e.confidence < UNSTABLE_BELOW:
                text += " (unstable: treat as tentative)"
        else:
            marks = {"directed": "this way round", "undirected": "left undirected"}.get(e.type, "with these marks")
            text += f"; linked in {link:.0%} of bootstrap resamples, {marks} in {e.confidence:.0%}"
            if link < UNSTABLE_BELOW:
                text += " (unstable: treat as tentative)"
            elif e.confidence < UNSTABLE_BELOW and e.type != "undirected":
                text += " (the link is stable, its direction is not: treat the direction as tentative)"
    return text + "."


def graph_summary(g: CausalGraph) -> str:
    counts: dict[str, int] = {}
    for e in g.edges:
        counts[e.type] = counts.get(e.type, 0) + 1
    if not g.edges:
        return (f"{g.algorithm} found no edges among {len(g.nodes)} variables: at this significance level the "
                "data show no direct dependence that survives conditioning.")
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in sorted(counts.items())]
    und = counts.get("undirected", 0) + counts.get("nondirected", 0) + counts.get("partially_directed", 0)
    s = f"{g.algorithm} found {len(g.edges)} edge(s) among {len(g.nodes)} variables ({', '.join(parts)})."
    if und:
        s += (f" {und} edge(s) keep an undetermined end: several causal graphs explain the data equally well, "
              "and they differ on those directions.")
    confs = [e.adjacency_confidence for e in g.edges if e.confidence is not None]
    if confs:
        unstable = sum(1 for c in confs if c < UNSTABLE_BELOW)
        s += (f" Median bootstrap confidence of the links {sorted(confs)[len(confs) // 2]:.2f}; {unstable} link(s) "
              f"unstable (< {UNSTABLE_BELOW:.0%}).")
        never = sum(1 for c in confs if not c)
        if never:
            s += (f" {never} link(s) of the full-data graph appear in none of the resamples: the full-data run and the "
                  "bootstrap disagree on them (doubtful).")
        loose = sum(1 for e in g.edges if e.type != "undirected" and e.confidence is not None
                    and e.confidence < UNSTABLE_BELOW <= (e.link_confidence or 0.0))
        if loose:
            s += f" {loose} stable link(s) keep their direction in fewer than half of the resamples."
    return s


# an estimate with no common support (tools.inference.effects.NO_SUPPORT_SHARE), in words
NO_SUPPORT_WORDS = ("no common support: {t} is so nearly determined by the adjusters that the treated and untreated "
                    "have almost no comparable rows, and the number is the outcome model's extrapolation")


def _contrast_text(c: dict[str, Any]) -> str:
    if c.get("estimate") is None and c.get("estimate_range"):
        lo, hi = c["estimate_range"]
        return f"between {number(lo, sign=True)} and {number(hi, sign=True)} (not identified from the graph alone)"
    if c.get("structural_zero"):
        return "0 (no causal path in the graph)"
    text = number(c["estimate"], sign=True)
    if c.get("ci_low") is not None and c.get("ci_high") is not None:
        text += f" (95% interval {interval(c['ci_low'], c['ci_high'])})"
    return text


def _sensitivity(refutations: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in refutations or [] if r["name"].startswith("unobserved")), None)


def binary_treatment(eff: dict[str, Any]) -> bool:
    """The effect is of a two-valued treatment (switched on against off, or one level against another),
    not a change per unit."""
    return bool(eff.get("treatment_change") or eff.get("contrasts")
                or str(eff.get("method") or "").startswith(("doubly_robust", "propensity")))


def _up_to(x: float) -> str:
    """ "up to 48%", or "less than 1%" for a share below 0.5%."""
    return share(x) if x < 0.005 else f"up to {share(x)}"


def _excludes_zero(lo: Any, hi: Any) -> bool | None:
    return None if lo is None or hi is None else not lo <= 0 <= hi


def sensitivity_reading(eff: dict[str, Any], short: bool = False) -> str | None:
    """How strong a hidden common cause of treatment and outcome would have to be to change the
    conclusion, in words (Cinelli & Hazlett's 2020 robustness value and benchmark, computed in
    tools.inference.refute). ``eff`` is an effect or one orientation's estimate: ``estimate``,
    ``ci_low``, ``ci_high``, ``refutations``, and ``treatment``/``outcome`` where known. ``short``:
    a phrase for a table cell instead of a sentence. None when no sensitivity analysis ran."""
    sens = _sensitivity(eff.get("refutations", []))
    t, y = eff.get("treatment", "the treatment"), eff.get("outcome", "the outcome")
    excludes = _excludes_zero(eff.get("ci_low"), eff.get("ci_high"))
    if eff.get("no_support"):
        if sens is None:
            return None
        return ("no verdict: the estimate has no common support, so it is not the data's answer to begin with"
                if short else "No sensitivity verdict: without common support the estimate is not the data's answer "
                "to begin with, so how strong a hidden confounder would have to be says nothing about it.")
    if excludes is False:
        return ("the interval already includes 0: no hidden confounder is needed" if short else
                "The 95% interval already includes zero, so no hidden confounder is needed to make the data "
                "consistent with no effect.")
    if sens is None or sens.get("robustness_value") is None or excludes is None:
        return None
    text = (f"{'a' if short else 'A'} hidden confounder would have to explain {share(sens['robustness_value'])} of the "
            f"remaining variation of both {t} and {y} to make the interval include zero")
    if sens.get("benchmark"):
        text += f"; a hidden confounder as strong as the measured {sens['benchmark']}"
        if not short:  # the bounds describe the hypothetical confounder, not the measured variable
            r2t, r2y = sens.get("benchmark_r2_treatment", 0), sens.get("benchmark_r2_outcome", 0)
            text += (f" (by Cinelli & Hazlett's bounds such a confounder could explain {_up_to(r2t)} of {t}'s "
                     f"and {_up_to(r2y)} of {y}'s remaining variation"
                     + (", the most any confounder can" if r2y >= 0.995 else "") + ")")
        left, est = sens.get("new_effect"), eff.get("estimate")
        if left is not None and est is not None and left * est < 0:  # past zero: the sign, not the size, changes
            text += f" would reverse its sign (to {number(left, sign=True)})"
        else:
            text += f" would leave an effect of {number(left)}"
        text += {True: ", so the conclusion holds", False: ", enough to change the conclusion"}.get(sens.get("passed"), "")
    elif sens.get("reading") and "no observed confounder" not in sens["reading"]:
        text += f"; {sens['reading']}"  # e.g. the adjuster explains so much of the treatment that no benchmark exists
    elif not short:
        text += " (nothing was adjusted for, so no measured confounder to compare that with)"
    return text if short else text + "."


def refutation_reading(r: dict[str, Any], eff: dict[str, Any]) -> str:
    """What one refutation check tests, and for the hidden-confounder analysis what it found, in words
    (see tools.inference.refute)."""
    name = r["name"]
    if r.get("num_simulations") == 0 and r.get("reading"):  # a simulated refuter the time budget left out
        return r["reading"]
    cut = f" ({r['num_simulations']} re-estimates only: {r['reading']})" if r.get("num_simulations") and r.get("reading") else ""
    if name.startswith("placebo"):
        return "the treatment randomly permuted: the effect should vanish" + cut
    if name.startswith("random_common_cause"):
        return "a random common cause added: the estimate should not move" + cut
    if name.startswith("data_subset"):
        return "random 80% subsets of the rows: the estimate should stay put" + cut
    if name.startswith("unobserved"):
        return sensitivity_reading({**_scope(r, eff), "refutations": [r]}, short=True) or r.get("reading") or ""
    return r.get("reading") or ""


def _scope(r: dict[str, Any], eff: dict[str, Any]) -> dict[str, Any]:
    """The estimate a refutation of ``eff`` belongs to: one orientation's (its name ends in
    "[adjusting for ...]"), one level's ("[level vs reference]"), else the effect's own."""
    tags = [(f"[adjusting for {', '.join(p.get('adjustment_set') or []) or 'nothing'}]", p)
            for p in eff.get("estimates") or []]
    tags += [(f"[{c.get('level')} vs {c.get('reference')}]", c) for c in eff.get("contrasts") or []]
    for tag, part in tags:
        if r["name"].endswith(tag):
            return {**part, "treatment": eff["treatment"], "outcome": eff["outcome"]}
    return eff


def is_structural_zero(eff: dict[str, Any]) -> bool:
    """The effect is zero by the graph alone: no causal path from treatment to outcome, in the graph or
    in every orientation it leaves open."""
    parts = eff.get("estimates") or []
    return bool(eff.get("structural_zero") or (eff.get("zero_check") or {}).get("contradicted")
                or (parts and all(p.get("structural_zero") for p in parts)))


def forbidden_behind(eff: dict[str, Any], graph: CausalGraph | None, forbidden: list[tuple[str, str]]) -> list[str]:
    """The user's forbidden edges ("a -> b") that could have carried the effect of eff's treatment on
    its outcome in a graph with no causal path between them: a is the treatment or reachable from it,
    and b is the outcome or reaches it (along edges that may point that way). Empty when the effect is
    not a structural zero or no prohibition is involved."""
    if not is_structural_zero(eff) or not forbidden:
        return []
    t, y = eff["treatment"], eff["outcome"]
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from([t, y])
    for e in (graph.edges if graph is not None else []):
        if e.type in ("directed", "partially_directed"):
            g.add_edge(e.source, e.target)
        elif e.type in ("undirected", "nondirected"):
            g.add_edges_from([(e.source, e.target), (e.target, e.source)])
    from_t = {t} | (nx.descendants(g, t) if t in g else set())
    to_y = {y} | (nx.ancestors(g, y) if y in g else set())
    return [f"{a} -> {b}" for a, b in forbidden if a in from_t and b in to_y]


def effect_sentence(eff: dict[str, Any], forbidden_cause: list[str] | None = None) -> str:
    """The effect in words, with its interval, adjustment and sensitivity to hidden confounding.

    ``forbidden_cause``: the user's prohibitions behind a zero effect (:func:`forbidden_behind`); the
    zero is then said to follow from them, not from the data."""
    est, lo, hi = eff.get("estimate"), eff.get("ci_low"), eff.get("ci_high")
    t, y = eff["treatment"], eff["outcome"]
    rng = eff.get("estimate_range")
    if eff.get("lags"):
        parts = [(f"{x['lag']} step(s) later: " if x["lag"] else "at once: ") + _contrast_text(x) for x in eff["lags"]]
        zc = eff.get("zero_check") or {}
        if zc.get("contradicted"):  # lagged.granger_check: the data contradict the graph's zero
            return (f"The graph shows no causal path from {t} to {y}, but the data show that {y} depends on the past of "
                    f"{t} given the past of the series ({p_text(zc['p_value'])}): the graph most likely misses that "
                    f"link. On the data, holding the past of the series fixed, a unit rise in {t} is followed by a change in {y} "
                    + "; ".join(parts) + ".")
        return f"A one-off unit rise in {t} changes {y} " + "; ".join(parts) + "."
    if eff.get("contrasts"):
        codes = any("integer values" in n for n in eff.get("notes") or [])  # integer codes read as categories
        why = ("the lowest code; its values' effects are not equally spaced, so they are read as categories"
               if codes else "the most common level")
        return (f"{t} is an unordered category, so its effect on {y} is given per level against "
                f"{eff['reference_level']} ({why}): "
                + "; ".join(f"{c['level']}: {_contrast_text(c)}" for c in eff["contrasts"]) + ".")
    change = eff.get("treatment_change") or f"raising {t} by one unit"
    scale = eff.get("outcome_scale") or y
    check = eff.get("zero_check") or {}
    if is_structural_zero(eff) and forbidden_cause:
        s = (f"The effect of {t} on {y} is 0 because you forbade {', '.join(forbidden_cause)}: without "
             f"{'that edge' if len(forbidden_cause) == 1 else 'those edges'} the graph has no causal path from "
             f"{t} to {y}. This follows from your prohibition, not from the data.")
        if check.get("contradicted"):
            s += (f" The data disagree: adjusting for every variable not downstream of {t}, {change} changes {scale} "
                  f"by {number(check['estimate'])} (95% interval {interval(check['ci_low'], check['ci_high'])}, "
                  f"{p_text(check['p_value'])}).")
        return s
    if is_structural_zero(eff) and not check.get("contradicted"):
        return f"According to the graph, {t} does not cause {y}: the effect is zero. " + " ".join(eff.get("notes", []))
    if est is None and rng:
        s = (f"The effect of {t} on {y} is not identified from the graph alone: over the directions this graph "
             f"leaves open, {change} changes {scale} by between {number(rng[0])} and {number(rng[1])} "
             f"(95% intervals together span {interval(lo, hi)}). The range assumes the graph's links are right; it "
             "is not a bound on the effect, since knowledge that settles a direction can also change the links.")
        for p in eff.get("estimates") or []:
            adj = ", ".join(p.get("adjustment_set") or []) or "nothing"
            if p.get("no_support"):
                s += (f" Adjusting for {adj} (estimate {number(p.get('estimate'))}): not supported by the data, "
                      f"{NO_SUPPORT_WORDS.format(t=t)}.")
                continue
            words = None if p.get("structural_zero") else sensitivity_reading({**p, "treatment": t, "outcome": y})
            if words and _excludes_zero(p.get("ci_low"), p.get("ci_high")):
                s += f" Adjusting for {adj} (estimate {number(p.get('estimate'))}): {words[0].lower()}{words[1:]}"
        return s
    if est is None:
        return f"The effect of {t} on {y} could not be estimated: {'; '.join(eff.get('notes', [])) or 'not identifiable'}."
    s = f"{change[0].upper()}{change[1:]} changes {scale} by {number(est)} on average"
    if check.get("contradicted"):
        s = (f"The graph shows no causal path from {t} to {y}, but the data show that {y} depends on {t} given every "
             f"variable not downstream of {t} ({p_text(check['p_value'])}): the graph most likely misses that "
             f"link. On the data: {s[0].lower()}{s[1:]}")
    if lo is not None and hi is not None:
        s += f" (95% interval {interval(lo, hi)})"
        if lo <= 0 <= hi:
            s += "; the interval includes zero, so the data are consistent with no effect"
    s += "."
    adj = eff.get("adjustment_set") or []
    s += f" Adjusted for: {', '.join(adj)}." if adj else " No adjustment was needed according to the graph."
    if eff.get("no_support"):
        return s + (f" This estimate is not supported by the data: {NO_SUPPORT_WORDS.format(t=t)}, so neither the "
                    "interval nor the checks below can vouch for it.")
    naive = eff.get("naive_estimate")
    if naive is not None and adj and abs(naive - est) > 0.1 * max(abs(est), 1e-9):
        why = ("for confounding, or for chance imbalance between the groups" if binary_treatment(eff) else
               f"for confounding, or for a chance association of {t} with the adjusters")
        s += (f" Without adjustment the association would be {number(naive)}: the adjustment ({why}) accounts for "
              "the difference.")
    words = sensitivity_reading(eff) if _excludes_zero(lo, hi) else None  # "includes zero" is said above
    if words:
        s += " " + words
    failed = [r["name"] for r in eff.get("refutations", []) if r.get("passed") is False]
    if failed:
        s += f" Refutation checks failed: {', '.join(failed)}; treat this estimate with suspicion."
    return s


def caveats(algorithm: str, profile: dict[str, Any], graph: CausalGraph, background_notes: list[str],
            effects: list[dict[str, Any]] | None = None) -> list[str]:
    out = [f"{algorithm} assumes " + ", ".join(ASSUMPTIONS.get(algorithm, ["its model's assumptions"])) + "."]
    f = profile.get("findings", {})
    n, p = profile.get("n_rows", 0), len(profile.get("variables", []))
    if n < 5 * p:
        out.append(f"Only {n} rows for {p} variables (fewer than 5 per variable): tests have little power, so missing "
                   "edges are weak evidence of independence and every edge is uncertain.")
    if (f.get("linearity") or {}).get("value") == "nonlinear" and algorithm in ("pc", "ges") \
            and graph.parameters.get("indep_test") == "fisherz":
        out.append("Relations look nonlinear but the test is linear: some dependencies may be missed.")
    if graph.parameters.get("score_by") in ("domain", "domain_means"):
        shared = ("coefficients and noise scales (the profile found the same covariance within every domain) while "
                  "the means may differ" if graph.parameters["score_by"] == "domain_means" else
                  "one causal graph while coefficients, means and noise scales may differ")
        out.append(f"The domains are assumed to share {shared}; directions marked as oriented by changes rest on "
                   "the domain index being a cause of the changes, not an effect (a site, batch or regime chosen "
                   "before the data were measured).")
    for name, frac in (graph.parameters.get("error_variance") or {}).items():
        out.append(f"{name} was read as measured with error ({frac:.0%} of its variance): the graph is that of "
                   f"the error-free {name}, so its edges and those of its neighbours rest on that reading (or on "
                   f"{name} being a close proxy of an unmeasured variable), and an effect estimated through the noisy "
                   "column is attenuated.")
    if effects and (f.get("linearity") or {}).get("value") == "nonlinear":
        if any(not binary_treatment(e) for e in effects):
            out.append("Relations are nonlinear, and an effect here is the average change of the outcome per unit of "
                       "the treatment: a U-shaped or threshold dependence can average to about zero. Compare outcomes "
                       "at chosen treatment values with --what-if \"T=value\" before reading a null effect as no "
                       "effect.")
        if any(binary_treatment(e) for e in effects):
            out.append("Relations are nonlinear, and the effect of a two-valued treatment here is the average over "
                       "everyone of the difference it makes: opposite effects in different groups can average to "
                       "about zero. Compare groups with --cate-by COL before reading a null effect as no effect.")
    if any(e.oriented_by == "additive_noise" for e in graph.edges):
        out.append("Directions credited to an additive-noise model assume that each effect is a function of its "
                   "causes plus noise independent of them, and that no hidden variable drives both ends; their "
                   "bootstrap confidence is that of the adjacency, not of the direction.")
    if (f.get("time_series") or {}).get("value") and graph.graph_type != "lagged":
        out.append("Rows are ordered in time but were analysed as independent samples; lagged effects are not modelled.")
    for r in profile.get("repairs", []):
        if r.get("repair") in ("imputation",) and deletes_testwise(algorithm, graph.parameters):
            out.append("Discovery deleted missing values test-wise (each test used the rows complete in its own "
                       "variables), which assumes they are missing independently of what they would have been; "
                       "the imputed values served only the profile's checks (effects use the rows where their own "
                       "variables were observed).")
        elif r.get("repair") in ("imputation",):
            out.append("Missing values were imputed for discovery; edges touching imputed columns may be weakened. "
                       "Effects do not use the imputed values: each is estimated on the rows where its treatment, "
                       "outcome and adjusters were observed (its notes say how many).")
    if any(e.type == "undirected" for e in graph.edges):
        out.append("Undirected edges are not errors: the direction is not identifiable from observational data "
                   "under these assumptions. Background knowledge (--background) or interventions can settle them.")
    out.extend(f"Background knowledge: {n}." for n in background_notes)
    out.append("Edges are relative to the measured variables: an unmeasured variable can change the picture.")
    return out


def budget_sentence(effects: list[dict[str, Any]]) -> str | None:
    """One sentence when the time budget left refuters out or cut their re-estimates, else None."""
    refs = [r for eff in effects for r in eff.get("refutations") or [] if r.get("reading") and
            r.get("num_simulations") is not None]
    skipped = sum(1 for r in refs if r["num_simulations"] == 0)
    fewer = len(refs) - skipped
    if not refs:
        return None
    parts = ([f"{skipped} refutation check(s) were not run"] if skipped else []) + (
        [f"{fewer} ran fewer re-estimates than planned"] if fewer else [])
    return ("Time budget: " + " and ".join(parts) + " (the report's checks table says why; --time-budget 0 "
            "lifts the limit).")
