"""Identification: which estimand gives the effect of a treatment on an outcome, from the graph alone.

DoWhy's first verb (``CausalModel.identify_effect``), extended to graphs that leave directions open:
- no (possibly) directed path from the treatment to the outcome, or the two in separate parts of the
  graph: the graph implies a zero effect (``ZERO``);
- a DAG: DoWhy's identification, in its order of preference: a back-door adjustment set, else the
  front-door mediators, else instruments, else not identified (``NONE``). A node of the graph that is
  not a column of the data is unobserved (a hidden confounder written into the graph);
- a CPDAG/PAG: every parent set of the treatment that some DAG consistent with the graph allows is a
  candidate back-door set (the local IDA rule of Maathuis, Kalisch & Buehlmann 2009); the effect is
  identified when there is one.
The result is an :class:`Identification`; :mod:`causalpilot.tools.inference.estimate` estimates it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from causalpilot.tools.quiet import quiet_loggers
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.inference.graph_adapter import (bidirected_neighbours, candidate_parent_sets, connected,
                                                       directed_digraph, is_dag, open_neighbours, possibly_causal_path)

BACKDOOR, FRONTDOOR, IV, ZERO, NONE = "backdoor", "frontdoor", "iv", "zero", "none"


@dataclass(frozen=True, kw_only=True)
class Identification:
    """How (and whether) the effect of ``treatment`` on ``outcome`` is identified.

    ``kind``: BACKDOOR, FRONTDOOR, IV, ZERO (the graph implies no effect) or NONE (not identified).
    ``estimand``: the wording of ``effects.json``'s ``estimand``.
    ``adjustment_sets``: BACKDOOR only: one set on a DAG or a fully oriented neighbourhood of the
    treatment, several (IDA) when the graph leaves edges at the treatment open; column names in the
    graph's node order.
    ``variables``: FRONTDOOR: the mediators; IV: the instruments.
    ``open_edges``: neighbours of the treatment whose edge with it has no established direction.
    ``notes``: sentences for the report (hidden confounding at the treatment, the reason for a zero).
    ``dowhy_estimand``: DoWhy's ``IdentifiedEstimand`` (DAGs only), which DoWhy's front-door and IV
    estimators take.
    """

    treatment: str
    outcome: str
    kind: str
    estimand: str
    adjustment_sets: list[list[str]] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    open_edges: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dowhy_estimand: Any = None

    @property
    def identified(self) -> bool:
        """One estimand, one answer: false for NONE and for several candidate adjustment sets."""
        return self.kind != NONE and len(self.adjustment_sets) <= 1


def dowhy_model(frame: pd.DataFrame, graph: CausalGraph, treatment: str, outcome: str):
    """DoWhy's ``CausalModel`` of the graph's directed edges on ``frame``; graph nodes missing from the
    frame are unobserved. Quiet: DoWhy's logging and warnings are silenced for this call only."""
    with quiet_loggers("dowhy"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from dowhy import CausalModel

        return CausalModel(data=frame, treatment=treatment, outcome=outcome, graph=directed_digraph(graph))


def identify_dag(frame: pd.DataFrame, graph: CausalGraph, treatment: str, outcome: str) -> Identification:
    """DoWhy's identification on a DAG (``CausalModel.identify_effect``): back-door, else front-door,
    else instrumental variable, else NONE.

    The back-door estimand exists only when DoWhy found a valid set: its ``get_backdoor_variables()``
    answers ``[]`` both for "adjust for nothing" and for "no valid set" (DoWhy 0.14), so the set of
    back-door estimands is what is read.
    """
    model = dowhy_model(frame, graph, treatment, outcome)
    with quiet_loggers("dowhy"), warnings.catch_warnings():  # its INFO/WARNING notes, for this call only
        warnings.simplefilter("ignore")
        ie = model.identify_effect(proceed_when_unidentifiable=True)
    base = {"treatment": treatment, "outcome": outcome, "dowhy_estimand": ie}
    if ie.backdoor_variables:
        adjust = sorted(ie.get_backdoor_variables(), key=graph.nodes.index)
        return Identification(kind=BACKDOOR, estimand="backdoor (DoWhy, from the DAG)", adjustment_sets=[adjust],
                              **base)
    if ie.get_frontdoor_variables():
        mediators = sorted(ie.get_frontdoor_variables(), key=graph.nodes.index)
        return Identification(kind=FRONTDOOR, estimand="frontdoor", variables=mediators, **base)
    if ie.get_instrumental_variables():
        instruments = sorted(ie.get_instrumental_variables(), key=graph.nodes.index)
        return Identification(kind=IV, estimand="iv", variables=instruments, **base)
    return Identification(kind=NONE, estimand="not identified",
                          notes=["DoWhy found no back-door, front-door or instrument"], **base)


def identify_by_parent_sets(graph: CausalGraph, treatment: str, outcome: str) -> Identification:
    """Back-door adjustment for the treatment's parents, over every parent set the graph allows (IDA);
    raises :class:`causalpilot.InputError` when the treatment has more open edges than
    graph_adapter.MAX_SIBLINGS."""
    notes = []
    hidden = bidirected_neighbours(graph, treatment)
    if hidden:
        notes.append(f"{treatment} shares a hidden common cause with {', '.join(hidden)} (<-> edge): "
                     "adjustment cannot remove that confounding, so the estimates below may be biased.")
    sets = candidate_parent_sets(graph, treatment)
    estimand = "backdoor (parents of the treatment)" if len(sets) == 1 else \
        "backdoor over the parent sets allowed by the graph (IDA)"
    if graph.graph_type == "PAG":
        notes.append("The graph is a PAG (hidden confounders allowed); parent-set adjustment assumes none act "
                     "on the treatment.")
    return Identification(treatment=treatment, outcome=outcome, kind=BACKDOOR, estimand=estimand,
                          adjustment_sets=sets, open_edges=open_neighbours(graph, treatment), notes=notes)


def identify(frame: pd.DataFrame, graph: CausalGraph, treatment: str, outcome: str) -> Identification:
    """The estimand of the effect of ``treatment`` on ``outcome`` (a contemporaneous graph, not a lagged
    one): ZERO when no causal path is possible, DoWhy's answer on a DAG, the IDA parent sets otherwise.
    ``frame``: the analysed data (its columns say which graph nodes are observed)."""
    if not connected(graph, treatment, outcome):
        return Identification(treatment=treatment, outcome=outcome, kind=ZERO,
                               estimand="none (no causal path in the graph)", notes=[
            f"{treatment} and {outcome} lie in separate parts of the graph: the data show no dependence between "
            "them that the graph explains, so the estimated causal effect is zero."])
    if not possibly_causal_path(graph, treatment, outcome):
        return Identification(treatment=treatment, outcome=outcome, kind=ZERO,
                              estimand="none (no causal path in the graph)", notes=[
            f"No directed path leads from {treatment} to {outcome} in any DAG consistent with the graph ({outcome} "
            f"is not downstream of {treatment}), so the effect is zero if the graph is right."])
    if is_dag(graph):
        return identify_dag(frame, graph, treatment, outcome)
    return identify_by_parent_sets(graph, treatment, outcome)
