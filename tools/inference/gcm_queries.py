"""What-ifs and root causes with dowhy.gcm, as plain functions (the chat tools call these).

All need one DAG: undirected edges are oriented by the column-order convention of
:func:`causalpilot.tools.inference.graph_adapter.to_dag` (stated in the result's notes); edges that allow hidden
confounding are refused. Mechanisms are chosen by ``gcm.auto`` and every sampling step is seeded.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.inference.graph_adapter import to_dag
from causalpilot.tools.quiet import quiet_loggers
from causalpilot.tools.threads import limit


@contextlib.contextmanager
def _gcm() -> Iterator[Any]:
    """dowhy.gcm with its log notes held back and its tqdm progress bars off (the CLI prints its own
    progress; the bars would clutter stderr), for the with-block only: both settings are restored.
    Its models fit single-threaded (:mod:`causalpilot.tools.threads`)."""
    with quiet_loggers("dowhy"), limit(1):
        from dowhy import gcm

        shown = gcm.config.show_progress_bars
        gcm.config.disable_progress_bars()
        try:
            yield gcm
        finally:
            gcm.config.show_progress_bars = shown


def parse_assignment(text: str, columns: list[str]) -> tuple[str, float]:
    """'X=1.5' -> ('X', 1.5); the column must exist and the value be a number."""
    m = re.fullmatch(r"\s*([^=]+?)\s*=\s*([-+0-9.eE]+)\s*", text or "")
    if not m:
        raise InputError(f"--what-if must look like 'COLUMN=NUMBER', got '{text}'.")
    col = m.group(1)
    if col not in columns:
        raise InputError(f"--what-if column '{col}' is not among the analysed variables.")
    try:
        return col, float(m.group(2))
    except ValueError:
        raise InputError(f"--what-if value '{m.group(2)}' is not a number.") from None


def fit_scm(df: pd.DataFrame, graph: CausalGraph, seed: int = 0, invertible: bool = True):
    """(fitted gcm causal model, notes). Invertible (additive-noise) models allow counterfactuals."""
    with _gcm() as gcm:
        dag, notes = to_dag(graph)
        gcm.util.general.set_random_seed(seed % (2**31))
        scm = gcm.InvertibleStructuralCausalModel(dag) if invertible else gcm.StructuralCausalModel(dag)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gcm.auto.assign_causal_mechanisms(scm, df[list(dag.nodes)], quality=gcm.auto.AssignmentQuality.GOOD)
            gcm.fit(scm, df[list(dag.nodes)])
        return scm, notes


def interventional_mean(scm, variable: str, value: float, outcome: str, seed: int = 0,
                        num_samples: int = 5000) -> float:
    """E[outcome | do(variable = value)] from samples of the fitted model."""
    with _gcm() as gcm:
        gcm.util.general.set_random_seed(seed % (2**31))
        s = gcm.interventional_samples(scm, {variable: lambda x: value}, num_samples_to_draw=num_samples)
        return float(s[outcome].mean())


def counterfactual(scm, df: pd.DataFrame, row: int, variable: str, value: float, outcome: str) -> dict[str, Any]:
    """What the outcome of row ``row`` would have been had ``variable`` been ``value`` (same noise)."""
    if not 0 <= row < len(df):
        raise InputError(f"Row {row} is outside the data (0 to {len(df) - 1}).")
    obs = df.iloc[[row]]
    with _gcm() as gcm:
        cf = gcm.counterfactual_samples(scm, {variable: lambda x: value}, observed_data=obs)
    return {"row": row, "variable": variable, "value": value, "outcome": outcome,
            "observed": float(obs[outcome].iloc[0]), "counterfactual": float(cf[outcome].iloc[0])}


def arrow_strengths(scm, target: str) -> dict[str, float]:
    """gcm.arrow_strength: how much the target's variance drops if each incoming arrow is cut."""
    with _gcm() as gcm:
        if not list(scm.graph.predecessors(target)):
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = gcm.arrow_strength(scm, target)
        return {str(k[0]): round(float(v), 6) for k, v in sorted(s.items(), key=lambda kv: -abs(kv[1]))}


def attribute_anomaly(scm, df: pd.DataFrame, row: int, target: str, seed: int = 0) -> dict[str, float]:
    """Which upstream nodes' own noise made row ``row``'s target unusual (gcm.attribute_anomalies)."""
    with _gcm() as gcm:
        gcm.util.general.set_random_seed(seed % (2**31))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = gcm.attribute_anomalies(scm, target, anomaly_samples=df.iloc[[row]])
        return {str(k): round(float(np.mean(v)), 6) for k, v in sorted(a.items(), key=lambda kv: -abs(np.mean(kv[1])))}


def distribution_change(graph: CausalGraph, old: pd.DataFrame, new: pd.DataFrame, target: str,
                        seed: int = 0) -> dict[str, float]:
    """Which mechanisms' changes explain the shift of the target's mean between two data sets."""
    with _gcm() as gcm:
        dag, _ = to_dag(graph)
        gcm.util.general.set_random_seed(seed % (2**31))
        scm = gcm.ProbabilisticCausalModel(dag)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gcm.auto.assign_causal_mechanisms(scm, old[list(dag.nodes)])
            c = gcm.distribution_change(scm, old[list(dag.nodes)], new[list(dag.nodes)], target,
                                        difference_estimation_func=lambda a, b: float(np.mean(b) - np.mean(a)))
        return {str(k): round(float(v), 6) for k, v in sorted(c.items(), key=lambda kv: -abs(kv[1]))}


def what_if_query(df: pd.DataFrame, graph: CausalGraph, variable: str, value: float, outcome: str,
                  seed: int = 0) -> dict[str, Any]:
    """do(variable=value): the mean outcome against the observed mean, with the arrow strengths into it."""
    scm, notes = fit_scm(df, graph, seed)
    mean_do = interventional_mean(scm, variable, value, outcome, seed)
    return {"intervention": f"do({variable}={value:g})", "variable": variable, "value": value,
            "outcome": outcome, "observed_mean": round(float(df[outcome].mean()), 6),
            "observed_mean_of_variable": round(float(df[variable].mean()), 6),
            "interventional_mean": round(mean_do, 6), "arrow_strength": arrow_strengths(scm, outcome),
            "notes": notes}
