"""The analysis loop's inference step: which pairs to estimate, and the optional gcm what-if."""

from __future__ import annotations

from dataclasses import dataclass

from causalpilot.tools.decision import Decision
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.inference.graph_adapter import possibly_causal_path
from causalpilot.tools.inference.question import read_question
from causalpilot.tools.inference.results import Effect
from causalpilot.tools.profile import PreparedData


@dataclass(frozen=True, kw_only=True)
class EffectRequest:
    """What the inference step is asked (the CLI's --treatment, --outcome, --question, --cate-by,
    --what-if, --jobs), with the seed every random draw of the step derives from."""

    treatment: str | None = None
    outcome: str | None = None
    question: str | None = None  # read for pairs when no treatment/outcome is named
    cate_by: list[str] | None = None  # covariates for group-wise effects
    what_if: str | None = None  # "X=1.5": the outcome's mean under do(X=1.5)
    n_jobs: int | None = None  # refuter processes; None: decided by the estimator's speed
    seed: int = 0


def run_inference(prepared: PreparedData, graph: CausalGraph, request: EffectRequest, boot=None,
                  background=None) -> tuple[list[Effect], list[Decision]]:
    """Effects for the requested pairs, one :class:`Effect` per pair (``to_dict()`` gives its
    effects.json entry), and the decisions taken. With a bootstrap (``boot``, the resampled graphs),
    directions it did not settle are left open; ``background`` is the run's background knowledge, whose
    directions count as settled. Raises :class:`causalpilot.InputError` for only one of treatment and
    outcome, or a --cate-by / --what-if without a pair."""
    seed = request.seed
    if bool(request.treatment) != bool(request.outcome):
        raise InputError("Give both --treatment and --outcome to estimate an effect.")
    decisions: list[Decision] = []
    if request.treatment:
        pairs = [(request.treatment, request.outcome)]
    else:
        cols = list(prepared.frame.columns)
        reading = read_question(request.question, cols)
        pairs = reading.pairs
        evidence = {"question": request.question,
                    "phrases": [{"phrase": m.phrase.strip(), "column": m.column, "how": m.how} for m in reading.matches]}
        if pairs:
            decisions.append(Decision(step="inference.pairs", choice=[list(p) for p in pairs],
                              reason="treatment/outcome pairs read from --question by fixed patterns "
                                        "('effect of X on Y', 'does X affect Y') matched to column names",
                              evidence=evidence))
        elif request.question:
            decisions.append(Decision(step="inference.pairs", choice=[],
                              reason=f"no effect estimated: {reading.explain_failure()}; name the pair with "
                                        "--treatment COL --outcome COL",
                              evidence=evidence))
    if request.cate_by and not pairs:
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
    effects: list[Effect] = []
    for k, (t, y) in enumerate(pairs):
        effs, decs = infer(prepared, effect_graph, t, y, seed + 1009 * k, cate_by=request.cate_by, n_jobs=request.n_jobs)
        # what the opened edges can change: the treatment's parent sets (edges at t), or whether any causal
        # path from t to y remains possible (then every opened edge may be on it)
        touching = [u for u in unsettled if t in (u["source"], u["target"])]
        if unsettled and possibly_causal_path(graph, t, y) != possibly_causal_path(effect_graph, t, y):
            touching = unsettled
        for eff in effs:
            eff.treatment_change, eff.outcome_scale = _binary_wording(prepared, t, y)
            if touching:
                eff.notes.insert(0, (
                    "Directions the bootstrap did not settle are left open for this estimate rather than taken from "
                    "the graph: " + "; ".join(
                        f"{u['source']} -> {u['target']} (that way round in {u['this_way']:.0%} of the resamples "
                        f"that contain the edge, the other way in {u['other_way']:.0%})" for u in touching) + "."))
        effects.extend(effs)
        decisions.extend(decs)
    what_if = request.what_if
    if what_if:
        if not pairs:
            raise InputError("--what-if needs an outcome (--outcome, with --treatment).")
        from causalpilot.tools.inference.gcm_queries import parse_assignment, what_if_query

        var, value = parse_assignment(what_if, list(prepared.frame.columns))
        frame, cut = prepared.frame, None
        if prepared.with_gaps is not None:  # the model is fitted on observed values only, never imputed ones
            complete = prepared.with_gaps.notna().all(axis=1).to_numpy()
            if not complete.all():
                frame = prepared.frame.loc[complete].reset_index(drop=True)
                cut = (f"fitted on the {len(frame):,} of {len(complete):,} rows with no missing value: the values "
                       "imputed for discovery are not used")
        for eff in effects:
            eff.what_if = what_if_query(frame, graph, var, value, eff.outcome, seed + 17)
            if cut:
                eff.what_if["notes"] = [*eff.what_if.get("notes", []), cut]
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


def _binary_wording(prepared: PreparedData, t: str, y: str) -> tuple[str | None, str | None]:
    """How the report should say 'one unit' for a binary treatment and 'by' for a binary outcome (None
    for a variable that is not binary)."""
    tl, yl = _two_levels(prepared, t), _two_levels(prepared, y)
    return (f"switching {t} from {tl[0]} to {tl[1]}" if tl else None,
            f"the probability that {y} is {yl[1]}" if yl else None)
