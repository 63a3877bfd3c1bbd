"""The analysis loop's inference step: which pairs to estimate, and the optional gcm what-if."""

from __future__ import annotations

from typing import Any

from causalpilot.tools.decision import Decision
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.inference.graph_adapter import possibly_causal_path
from causalpilot.tools.inference.question import read_question
from causalpilot.tools.profile import PreparedData


def run_inference(prepared: PreparedData, graph: CausalGraph, opts: Any, seed: int, boot=None,
                  background=None) -> tuple[list[dict], list[Decision]]:
    """Effects for the requested pairs. With a bootstrap, directions it did not settle are left open."""
    if bool(opts.treatment) != bool(opts.outcome):
        raise InputError("Give both --treatment and --outcome to estimate an effect.")
    decisions: list[Decision] = []
    if opts.treatment:
        pairs = [(opts.treatment, opts.outcome)]
    else:
        cols = list(prepared.frame.columns)
        reading = read_question(opts.question, cols)
        pairs = reading.pairs
        evidence = {"question": opts.question,
                    "phrases": [{"phrase": m.phrase.strip(), "column": m.column, "how": m.how} for m in reading.matches]}
        if pairs:
            decisions.append(Decision(step="inference.pairs", choice=[list(p) for p in pairs],
                              reason="treatment/outcome pairs read from --question by fixed patterns "
                                        "('effect of X on Y', 'does X affect Y') matched to column names",
                              evidence=evidence))
        elif opts.question:
            decisions.append(Decision(step="inference.pairs", choice=[],
                              reason=f"no effect estimated: {reading.explain_failure()}; name the pair with "
                                        "--treatment COL --outcome COL",
                              evidence=evidence))
    if getattr(opts, "cate_by", None) and not pairs:
        raise InputError("--cate-by needs a treatment and an outcome (--treatment/--outcome).")
    effect_graph, unsettled = graph, []
    if pairs and boot is not None:
        from causalpilot.tools.bootstrap import open_directions, unsettled_directions

        unsettled = unsettled_directions(graph, boot, background)
        if unsettled:
            # an effect must not rest on a direction that a resample is as likely to reverse: such edges are
            # opened, and the effect is estimated over the orientations they allow (IDA), as for undirected ones
            effect_graph = open_directions(graph, unsettled)
            decisions.append(Decision(
                step="inference.unsettled_directions", choice=[u["edge"] for u in unsettled], by="data",
                reason="these directions are not backed by a majority beyond chance (one-sided binomial test at "
                       "5%) of the bootstrap resamples that contain the edge, so effects are estimated with them left "
                       "open instead of resting on the full-data orientation",
                evidence={u["edge"]: {k: u[k] for k in ("this_way", "other_way", "resamples_with_edge")}
                          for u in unsettled}))
    effects: list[dict] = []
    for k, (t, y) in enumerate(pairs):
        effs, decs = infer(prepared, effect_graph, t, y, seed + 1009 * k, cate_by=getattr(opts, "cate_by", None),
                           n_jobs=getattr(opts, "n_jobs", None))
        # what the opened edges can change: the treatment's parent sets (edges at t), or whether any causal
        # path from t to y remains possible (then every opened edge may be on it)
        touching = [u for u in unsettled if t in (u["source"], u["target"])]
        if unsettled and possibly_causal_path(graph, t, y) != possibly_causal_path(effect_graph, t, y):
            touching = unsettled
        for eff in effs:
            eff.update(_binary_wording(prepared, t, y))
            if touching:
                eff.setdefault("notes", []).insert(0, (
                    "Directions the bootstrap did not settle are left open for this estimate rather than taken from "
                    "the graph: " + "; ".join(
                        f"{u['source']} -> {u['target']} (that way round in {u['this_way']:.0%} of the resamples "
                        f"that contain the edge, the other way in {u['other_way']:.0%})" for u in touching) + "."))
        effects.extend(effs)
        decisions.extend(decs)
    what_if = getattr(opts, "what_if", None)
    if what_if:
        if not pairs:
            raise InputError("--what-if needs an outcome (--outcome, with --treatment).")
        from causalpilot.tools.inference.gcm_queries import parse_assignment, what_if_query

        var, value = parse_assignment(what_if, list(prepared.frame.columns))
        for eff in effects:
            eff["what_if"] = what_if_query(prepared.frame, graph, var, value, eff["outcome"], seed + 17)
        decisions.append(Decision(step="inference.what_if", choice=what_if,
                          reason="interventional mean from a dowhy.gcm structural causal model fitted on the "
                                    "final graph (mechanisms chosen by gcm.auto, quality 'good')", evidence={}))
    return effects, decisions


def _two_levels(prepared: PreparedData, name: str) -> list[str] | None:
    """The two labels of a binary variable in code order (0, 1), or None."""
    if prepared.profile.kind_of(name) != "binary":
        return None
    labels = prepared.profile.labels_of(name)
    if labels and len(labels) == 2:
        return labels
    vals = sorted(prepared.frame[name].dropna().unique())
    return [f"{v:g}" for v in vals] if len(vals) == 2 else None


def _binary_wording(prepared: PreparedData, t: str, y: str) -> dict[str, str]:
    """How the report should say 'one unit' for a binary treatment and 'by' for a binary outcome."""
    out = {}
    tl, yl = _two_levels(prepared, t), _two_levels(prepared, y)
    if tl:
        out["treatment_change"] = f"switching {t} from {tl[0]} to {tl[1]}"
    if yl:
        out["outcome_scale"] = f"the probability that {y} is {yl[1]}"
    return out
