"""The sentences of the decisions that discovery's own steps make, read from the graph they left.

A portfolio vote, the mechanisms that change across domains and the additive-noise orientations
are recorded by the algorithms as graph parameters; these functions turn them into the
:class:`~causalpilot.tools.decision.Decision` records that run.json lists and the report quotes, so
the analysis loop holds no prose of its own.
"""

from __future__ import annotations

from causalpilot.reports.numbers import duration
from causalpilot.tools.decision import Decision
from causalpilot.tools.graph import CausalGraph


def _change_evidence(graph: CausalGraph) -> str:
    """How the changing mechanisms were found (CD-NOD, or the likelihood-ratio test of tools/ci/domain.py)."""
    if graph.algorithm == "cdnod":
        return "CD-NOD: the context index is adjacent to a variable whose mechanism changes"
    alpha = graph.parameters.get("change_alpha", 0.05)
    text = ("the domain index stays adjacent to a variable unless some set of the variable's neighbours makes its "
            "linear-Gaussian mechanism the same in every domain: likelihood-ratio test of one regression for all rows "
            f"against one per domain, alpha {alpha}")
    oriented = graph.parameters.get("oriented_by_changes") or []
    if oriented:
        text += "; the changes orient " + ", ".join(oriented[:10]) + (" and more" if len(oriented) > 10 else "")
    return text


def discovery_decisions(graph: CausalGraph) -> list[Decision]:
    """The decisions a discovered graph carries in its parameters: the portfolio's vote
    (``portfolio``), the changing mechanisms (``changing_modules``) and the additive-noise
    orientations (``additive_noise``), in that order; empty when there are none."""
    decisions: list[Decision] = []
    if graph.parameters.get("portfolio"):
        decisions.append(Decision("discovery.portfolio", graph.parameters["portfolio"]["members"],
                                  "the profile did not single out one method: the portfolio's graphs were reconciled "
                                  "by majority vote (confidence comes from the bootstrap of the first method)",
                                  graph.parameters["portfolio"]))
    if graph.parameters.get("changing_modules") is not None:
        changed = graph.parameters["changing_modules"]
        decisions.append(Decision("discovery.changing_modules", changed,
                                  ("the causal mechanisms of " + ", ".join(changed) + " change across "
                                   f"{graph.parameters.get('context', 'context')}s ({_change_evidence(graph)})")
                                  if changed else
                                  f"no mechanism was found to change with the context index ({_change_evidence(graph)})",
                                  {k: graph.parameters[k] for k in ("change_pvalues", "oriented_by_changes") if k in graph.parameters},
                                  by="data"))
    if graph.parameters.get("starts_cut"):
        cut = graph.parameters["starts_cut"]
        decisions.append(Decision("discovery.starts_budget", graph.parameters.get("starts_used"), (
            f"the time budget (--time-budget) stopped BOSS's restarts after {graph.parameters.get('starts_used')} of at "
            f"most {graph.parameters.get('starts')} runs: one run took about {duration(cut['seconds_per_run'])} and "
            f"{duration(cut['seconds_left'])} were left. The best-scoring graph found so far is reported; more "
            "restarts (a larger budget, or --time-budget 0) might find one that scores better"), cut, by="data"))
    if graph.parameters.get("additive_noise"):
        found = graph.parameters["additive_noise"]
        decisions.append(Decision("discovery.orientation", found["oriented"], (
            f"{len(found['oriented'])} of the {len(found['tests'])} edges the equivalence class left undirected were "
            "oriented by additive-noise models: the direction in which the residual of a Gaussian-process fit is "
            f"independent of its inputs (KCI p > {found['alpha']}) while the other direction's is not (p <= "
            f"{found['alpha']}), on {found['rows']} rows"
            + (f"; Meek's rules then orient {', '.join(found['propagated'])}" if found["propagated"] else "")
            + "; the rest stay undirected. Assumes additive noise "
            "independent of the causes and no hidden common cause of the pair; the edges keep the bootstrap "
            "confidence of their adjacency"), found["tests"], by="data"))
    return decisions
