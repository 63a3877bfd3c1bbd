"""Benchmark suites: named lists of datasets with a known graph, and the baselines to run beside the agent.

A suite is data, not code: each :class:`DatasetSpec` says which generator builds it and with which
arguments, so a task can be shipped to any worker (joblib process, Dask worker) and rebuilt there
from its seed. The baselines are listed per suite by registry name; a baseline that is not
registered in this installation is skipped with a recorded note, never a crash.

The Causal-Copilot scenarios follow its simulator's defaults (ER DAG, edge probability 0.2, linear,
Gaussian noise of scale 0.1, n = 1000, p = 10); the deviations are documented in evals/README.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, Edge

DATA_DIR = Path(__file__).parent / "data"
TABULAR_BASELINES = ("pc", "fci", "ges", "direct_lingam")
TIME_SERIES_BASELINES = ("pcmci", "var_lingam")


@dataclass(frozen=True)
class DatasetSpec:
    """How to build one benchmark dataset: a generator name, its arguments and a seed."""

    scenario: str
    replicate: int
    kind: str  # copilot_sem | peer_sem | var | bnlearn | sachs_cyto
    args: tuple[tuple[str, Any], ...] = ()
    seed: int = 0
    time_series: bool = False

    @property
    def name(self) -> str:
        return f"{self.scenario}/r{self.replicate}"

    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    def cost(self) -> float:
        """A rough size for scheduling the biggest tasks first."""
        kw = self.kwargs()
        return float(kw.get("p", 10)) ** 2 * float(kw.get("n", 1000))


@dataclass
class Built:
    frame: pd.DataFrame
    truth: CausalGraph
    time_series: bool = False


@dataclass
class Suite:
    name: str
    description: str
    datasets: list[DatasetSpec]
    baselines: tuple[str, ...]
    cap_s: float = 300.0  # per-task time cap; a task past it is recorded as 'timeout'
    # (scenario, method) -> reason: not attempted, recorded as 'timeout' (it cannot finish within the cap)
    not_attempted: dict[tuple[str, str], str] = field(default_factory=dict)
    # an effect suite (evals/effects.py): real data sets scored on the effect, not the graph
    effect_cases: tuple[str, ...] = ()


def _seed(base: int, scenario: str, replicate: int) -> int:
    """A stable seed per (run seed, scenario, replicate), independent of Python's hash randomisation."""
    digest = hashlib.sha256(f"{base}:{scenario}:{replicate}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def build(spec: DatasetSpec) -> Built:
    """Build the dataset and its true graph from the spec (deterministic in ``spec.seed``)."""
    kw = spec.kwargs()
    if spec.kind == "copilot_sem":
        from causalpilot.evals.generators import copilot_sem

        syn = copilot_sem(seed=spec.seed, **kw)
        return Built(syn.data, syn.truth)
    if spec.kind == "peer_sem":
        from causalpilot.evals.generators import peer_sem

        syn = peer_sem(seed=spec.seed, **kw)
        return Built(syn.data, syn.truth)
    if spec.kind == "var":
        from causalpilot.evals.generators import stable_var_process

        syn = stable_var_process(seed=spec.seed, **kw)
        return Built(syn.data, syn.truth, time_series=True)
    if spec.kind == "bnlearn":
        from causalpilot.evals.bif import read_bif

        bn = read_bif(DATA_DIR / "bnlearn" / f"{kw['network']}.bif.gz")
        frame = bn.sample(int(kw.get("n", 5000)), spec.seed)
        truth = CausalGraph(bn.nodes, [Edge(a, b, "directed") for a, b in bn.edges()], graph_type="DAG",
                            algorithm="truth")
        return Built(frame, truth)
    if spec.kind == "sachs_cyto":
        frame = pd.read_csv(DATA_DIR / "sachs" / "sachs_cyto.csv.gz")
        edges = pd.read_csv(DATA_DIR / "sachs" / "sachs_truth.csv")
        truth = CausalGraph(list(frame.columns), [Edge(a, b, "directed") for a, b in zip(edges["Cause"], edges["Effect"])],
                            graph_type="DAG", algorithm="truth")
        return Built(frame, truth)
    raise ValueError(f"unknown dataset kind {spec.kind!r}")


def _specs(scenario: str, kind: str, replicates: int, base_seed: int, time_series: bool = False,
           **kw: Any) -> list[DatasetSpec]:
    return [DatasetSpec(scenario, r, kind, tuple(sorted(kw.items())), _seed(base_seed, scenario, r), time_series)
            for r in range(replicates)]


# The paper's own figures (Copilot-style F1), from ../shared/REFERENCE.md: scenario -> (Causal-Copilot,
# best of PC/FCI/GES/DirectLiNGAM as the paper reports it).
PAPER_F1: dict[str, tuple[float, str]] = {
    "default": (0.90, "0.92 (PC)"),
    "dense": (0.78, "0.45"),
    "sparse": (0.82, "0.84"),
    "p50": (0.95, "0.79"),
    "p100": (0.91, "0.74"),
    "non_gaussian": (0.98, "0.86"),
    "mixed_discrete": (0.89, "0.92 (GES)"),
    "heterogeneous": (0.78, "0.62"),
    "measurement_error": (0.89, "0.80"),
    "missing_10pct": (0.77, "0.72"),
}

# expected number of neighbours of a node in the default scenario (edge probability 0.2, p = 10)
_DEFAULT_DEGREE = 0.2 * 9


# Ten seeds per scenario: with three, one unlucky graph moves a scenario's mean F1 by 0.1-0.15 (the
# spread of a single method across seeds reaches sd 0.25), so rankings between methods flipped from
# one base seed to the next; ten keep the suite well inside the hour on two cores.
def copilot_scenarios(seed: int = 0, replicates: int = 10) -> Suite:
    n = 1000

    def sem(scenario: str, **kw: Any) -> list[DatasetSpec]:
        args = {"p": 10, "n": n, "edge_prob": 0.2, **kw}
        return _specs(scenario, "copilot_sem", replicates, seed, **args)

    datasets = (
        sem("default")
        + sem("dense", edge_prob=0.5)
        + sem("sparse", edge_prob=0.1)
        + sem("p50", p=50, edge_prob=round(_DEFAULT_DEGREE / 49, 4))
        + sem("p100", p=100, edge_prob=round(_DEFAULT_DEGREE / 99, 4))
        + sem("non_gaussian", noise="uniform")
        + sem("heterogeneous", domains=3)
        + sem("measurement_error", measurement_error=0.3)
        + sem("nonlinear", nonlinear=True)
        + sem("mixed_discrete", discrete_fraction=0.2)
        + sem("missing_10pct", missing_fraction=0.1)
    )
    return Suite("copilot-scenarios", "The tabular simulation scenarios of the Causal-Copilot paper "
                 f"({replicates} seeds per scenario).", datasets, TABULAR_BASELINES, cap_s=240.0,
                 not_attempted={
                     # measured on one p100 dataset (2 shared cores, load ~5): GES 401 s, DirectLiNGAM 505 s,
                     # FCI 19 s; the first two would only burn the cap on every seed
                     ("p100", "ges"): "GES at p = 100 took 401 s in a probe run, over the 240 s per-task cap",
                     ("p100", "direct_lingam"): "DirectLiNGAM at p = 100 took 505 s in a probe run, over the 240 s "
                                                "per-task cap",
                 })


# The peer's scenarios made the peer's way (evals.generators.peer_sem: the facts of Causal-Copilot's
# simulator), and held-out families that no planner rule was chosen on. Three seeds per scenario, as the
# issue's comparison used; more with --replicates.
PEER_HELD_OUT = ("weak_weights", "unequal_noise", "domain_shifts", "nonlinear_links")


def copilot_peer(seed: int = 0, replicates: int = 3) -> Suite:
    def sem(scenario: str, **kw: Any) -> list[DatasetSpec]:
        return _specs(scenario, "peer_sem", replicates, seed, **{"p": 10, "n": 1000, "edge_prob": 0.2, **kw})

    datasets = (
        sem("default")
        + sem("dense", edge_prob=0.5)
        + sem("measurement_error", measurement_error=True)
        + sem("heterogeneous", domains=5)
        + sem("non_gaussian", noise="uniform")
        + sem("p50", p=50)  # the peer's density: 245 edges, mean degree near 10
        # held-out families
        + sem("weak_weights", weight_range=(0.1, 0.5))
        + sem("unequal_noise", noise_spread=4.0)
        + sem("domain_shifts", domains=3, domain_variance=True)
        + sem("nonlinear_links", nonlinear_links=2)
    )
    return Suite("copilot-peer", "Causal-Copilot's tabular scenarios generated the way its simulator makes them "
                 "(fixed edge count, weights +-[0.5, 2], noise scale 0.1, measurement error of SD 0.3 on half "
                 "the columns, five domains with mean shifts on the least-connected nodes), and held-out families "
                 f"({', '.join(PEER_HELD_OUT)}); {replicates} seeds per scenario.", datasets, TABULAR_BASELINES,
                 cap_s=600.0)


def timeseries(seed: int = 0, replicates: int = 3) -> Suite:
    datasets = (
        _specs("ts_p5_lag3", "var", replicates, seed, True, p=5, n=1000, max_lag=3, n_edges=6)
        + _specs("ts_p5_lag20", "var", replicates, seed, True, p=5, n=1000, max_lag=20, n_edges=6)
        + _specs("ts_p20_lag3", "var", replicates, seed, True, p=20, n=1000, max_lag=3, n_edges=20)
    )
    return Suite("timeseries", "Time series scenarios of the Causal-Copilot paper (stable VAR processes with "
                 "known lagged edges).", datasets, TIME_SERIES_BASELINES, cap_s=300.0)


def realistic(seed: int = 0, replicates: int = 2) -> Suite:
    datasets: list[DatasetSpec] = []
    for net in ("asia", "sachs", "child", "insurance", "alarm"):
        datasets += _specs(f"bnlearn_{net}", "bnlearn", replicates, seed, network=net, n=5000)
    datasets += _specs("sachs_cyto", "sachs_cyto", 1, seed)
    return Suite("realistic", "bnlearn networks sampled offline (n = 5000) and the Sachs flow-cytometry data "
                 "(7466 rows, 11 proteins).", datasets, TABULAR_BASELINES, cap_s=300.0)


def smoke(seed: int = 0, replicates: int = 2) -> Suite:
    datasets = (
        _specs("default_small", "copilot_sem", replicates, seed, p=6, n=500, edge_prob=0.3)
        + _specs("non_gaussian_small", "copilot_sem", 1, seed, p=6, n=500, edge_prob=0.3, noise="uniform")
        + _specs("bnlearn_asia_small", "bnlearn", 1, seed, network="asia", n=2000)
        + _specs("ts_small", "var", 1, seed, True, p=3, n=300, max_lag=2, n_edges=2)
    )
    return Suite("smoke", "A few small datasets of every kind, for tests (under two minutes).", datasets,
                 TABULAR_BASELINES + TIME_SERIES_BASELINES, cap_s=60.0)


def realistic_effects(seed: int = 0, replicates: int = 1) -> Suite:
    from causalpilot.evals.effects import CASES

    return Suite("realistic-effects", "Real data sets with a published effect (NSW experiment, NSW against CPS "
                 "controls, Thornton's HIV incentives, NHEFS smoking cessation, Card's return to schooling), "
                 "offline through the causaldata package.", [], (), cap_s=0.0, effect_cases=tuple(CASES))


SUITES = {"smoke": smoke, "realistic-effects": realistic_effects, "copilot-scenarios": copilot_scenarios,
          "copilot-peer": copilot_peer, "timeseries": timeseries, "realistic": realistic}


def get_suite(name: str, seed: int = 0, replicates: int | None = None) -> Suite:
    key = name.strip().lower()
    if key not in SUITES:
        raise InputError(f"Unknown suite '{name}'; choose one of: {', '.join(SUITES)}.")
    return SUITES[key](seed) if replicates is None else SUITES[key](seed, replicates)


def baselines_for(suite: Suite, spec: DatasetSpec) -> list[str]:
    """The suite's baselines that fit this dataset: time-series methods on time series, tabular otherwise."""
    ts = set(TIME_SERIES_BASELINES)
    return [b for b in suite.baselines if (b in ts) == spec.time_series]
