"""One registry of wrapped causal tools: discovery algorithms and conditional-independence tests.

Each algorithm is registered with a profile (assumptions, the data it suits, its cost) written for
the planners to read, its parameter defaults, and a runner that returns a :class:`CausalGraph`.
Adding an algorithm means writing one decorated function in a module under ``tools/discovery``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from causalpilot.tools.background import Background
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph

# modules whose import registers algorithms; extend as algorithm families are added
DISCOVERY_MODULES = ("causalpilot.tools.discovery.causallearn_algos", "causalpilot.tools.discovery.heterogeneous",
                     "causalpilot.tools.discovery.permutation", "causalpilot.tools.discovery.exact", "causalpilot.tools.discovery.functional",
                     "causalpilot.tools.discovery.continuous_opt", "causalpilot.tools.discovery.local", "causalpilot.tools.discovery.time_series")


@dataclass
class DiscoveryInput:
    """Everything an algorithm may use: the data matrix and its context."""

    X: np.ndarray
    nodes: list[str]
    kinds: dict[str, str]
    seed: int = 0
    background: Background | None = None
    domain: np.ndarray | None = None  # domain / regime index per row, for heterogeneous data
    time: np.ndarray | None = None


@dataclass
class AlgorithmSpec:
    name: str
    family: str  # constraint | score | functional | permutation | continuous | time-series | local
    output: str  # DAG | CPDAG | PAG | lagged
    profile: str  # one paragraph for the planners: assumptions, data it suits, cost
    runner: Callable[[DiscoveryInput, dict[str, Any]], CausalGraph]
    defaults: dict[str, Any] = field(default_factory=dict)
    data_types: tuple[str, ...] = ("continuous",)
    supports_background: bool = False
    time_series: bool = False
    max_p: int | None = None  # beyond this many variables the algorithm is impractical

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "output": self.output, "profile": self.profile,
                "defaults": self.defaults, "data_types": list(self.data_types),
                "supports_background": self.supports_background, "time_series": self.time_series,
                "max_p": self.max_p}


ALGORITHMS: dict[str, AlgorithmSpec] = {}

CI_TESTS: dict[str, str] = {
    "fisherz": "Fisher's z on partial correlation: linear-Gaussian continuous data; fast.",
    "chisq": "Pearson chi-square on contingency tables: discrete/categorical data.",
    "gsq": "G-square (likelihood ratio) on contingency tables: discrete/categorical data.",
    "kci": "Kernel CI test: any functional form, continuous data; cubic in n, use for n < ~1500.",
    "fastkci": "Fast KCI (partitioned kernels): nonparametric for moderate n.",
    "rcit": "Randomised CI test (random Fourier features): nonparametric, near-linear in n.",
    "mv_fisherz": "Fisher's z with test-wise deletion: linear-Gaussian data with missing values.",
    "fisherz_domain": "CD-NOD with a domain index: Fisher-z among the variables, and a likelihood-ratio test of "
                      "whether a variable's linear-Gaussian mechanism (coefficients, intercept, noise variance) "
                      "changes across domains for the tests with the index.",
}


def algorithm(name: str, *, family: str, output: str, profile: str, defaults: dict | None = None,
              data_types: tuple[str, ...] = ("continuous",), supports_background: bool = False,
              time_series: bool = False, max_p: int | None = None):
    """Decorator registering a discovery runner under ``name``."""

    def deco(fn: Callable[[DiscoveryInput, dict[str, Any]], CausalGraph]):
        ALGORITHMS[name] = AlgorithmSpec(name, family, output, " ".join(profile.split()), fn, dict(defaults or {}),
                                         data_types, supports_background, time_series, max_p)
        return fn

    return deco


def _load() -> None:
    for mod in DISCOVERY_MODULES:
        importlib.import_module(mod)


def algorithms() -> dict[str, AlgorithmSpec]:
    _load()
    return ALGORITHMS


def get_algorithm(name: str) -> AlgorithmSpec:
    algs = algorithms()
    key = name.strip().lower().replace("-", "_")
    if key not in algs:
        raise InputError(f"Unknown algorithm '{name}'; choose one of: {', '.join(sorted(algs))}.")
    return algs[key]


def check_ci_test(name: str) -> str:
    key = name.strip().lower()
    if key not in CI_TESTS:
        raise InputError(f"Unknown independence test '{name}'; choose one of: {', '.join(CI_TESTS)}.")
    return key


def run_algorithm(name: str, data: DiscoveryInput, params: dict[str, Any] | None = None) -> CausalGraph:
    """Run a registered algorithm with its defaults overridden by ``params``."""
    spec = get_algorithm(name)
    merged = {**spec.defaults, **{k: v for k, v in (params or {}).items() if v is not None}}
    if "indep_test" in merged:
        merged["indep_test"] = check_ci_test(merged["indep_test"])
    # some library code draws from the global generators (causal-learn's RCIT and permutation tests):
    # seeding them here makes every algorithm a function of the run's seed, in any worker process
    from causalpilot.tools.discovery._util import seed_all

    seed_all(data.seed)
    graph = spec.runner(data, merged)
    graph.algorithm = spec.name
    # what the run itself found out (e.g. CD-NOD's changing modules) is kept beside the parameters
    graph.parameters = {**merged, **{k: v for k, v in graph.parameters.items() if k not in merged}}
    return graph
