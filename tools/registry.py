"""One registry of wrapped causal tools: discovery algorithms and conditional-independence tests.

Each algorithm is registered with a profile (assumptions, the data it suits, its cost) written for
the planners to read, its parameter defaults, and a runner that returns a :class:`CausalGraph`.
Adding an algorithm means writing one decorated function in a module under ``tools/discovery``.
Whether an algorithm fits a data set is decided here, once, by :meth:`AlgorithmSpec.fits`: every
planner and a forced ``--algorithm`` read the same check.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from causalpilot.tools.background import Background
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph

if TYPE_CHECKING:
    from causalpilot.tools.profile import Profile

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
    # a streamed file (tools.streaming): the means and covariance of all its rows (tools.moments.Moments), over
    # ``nodes`` in order; ``X`` is then its sample. Read by the methods of :func:`uses_moments`, removed for others.
    moments: Any = None


# assumptions a profile can contradict (AlgorithmSpec.assumes)
ASSUMPTIONS = ("linear", "non-gaussian")
BIC_SCORES = ("local_score_BIC", "local_score_BIC_from_cov", "local_score_mixed_BIC")
FISHER_Z_TESTS = ("fisherz", "mv_fisherz", "fisherz_domain")
LINEAR_TS_TESTS = ("parcorr",)
DISCRETE_TESTS = ("chisq", "gsq", "gsquared")
# CI tests that take data with gaps and use, per test, the rows complete in its own variables; the
# algorithms that hand them the data as it is (no context column appended, no score)
TESTWISE_TESTS = ("mv_fisherz", "mixed_lrt")
TESTWISE_ALGORITHMS = ("pc", "fci", "markov_blanket")


MOMENT_SCORES = ("local_score_BIC", "local_score_BIC_from_cov")


def uses_moments(algorithm: str, params: dict[str, Any], data: DiscoveryInput) -> bool:
    """Whether ``algorithm`` with ``params`` (over its defaults) runs on ``data.moments`` (the means and
    covariance of a streamed file) rather than on the rows of ``data.X``: methods that need nothing
    else, namely PC with Fisher-z (the batched engine) and the Gaussian BIC searches (GES, BOSS, exact
    search) on data without a domain or time index, unordered categories or measurement-error
    corrections."""
    if data.moments is None or data.domain is not None or data.time is not None:
        return False
    params = {**get_algorithm(algorithm).defaults, **{k: v for k, v in params.items() if v is not None}}
    name = get_algorithm(algorithm).name
    if name == "pc":
        return params.get("indep_test") == "fisherz" and params.get("engine", "fast") == "fast"
    if name in ("ges", "boss", "exact_search"):
        return (params.get("score_func") in MOMENT_SCORES and not params.get("error_variance")
                and not params.get("score_by") and "categorical" not in data.kinds.values())
    return False


def deletes_testwise(algorithm: str, params: dict[str, Any]) -> bool:
    """Whether ``algorithm`` with ``params`` runs on the data with their gaps (test-wise deletion): a
    constraint-based search with a test of :data:`TESTWISE_TESTS`. Such a run must never be given
    imputed values."""
    return algorithm in TESTWISE_ALGORITHMS and params.get("indep_test") in TESTWISE_TESTS


@dataclass(frozen=True)
class Fit:
    """Whether an algorithm fits a data profile.

    ``problems``: reasons it cannot run on these data (a time-series method on rows not ordered in
    time, fewer rows than its regressions need, more variables than it handles); ``warnings``:
    assumptions of the method that the profile contradicts (it runs, but its output may mislead).
    Each entry is a clause without a final full stop; ``evidence`` holds the profile values read."""

    algorithm: str
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def refusal(self) -> str:
        """The one sentence that refuses the algorithm (for :class:`InputError`)."""
        return f"Algorithm '{self.algorithm}' does not fit these data: {'; '.join(self.problems)}."


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
    assumes: tuple[str, ...] = ()  # of ASSUMPTIONS: what the profile can contradict
    needs_n_above_p: bool = False  # its regressions need more rows than variables
    needs_context: bool = False  # it needs a domain index or a time index
    planned_max_p: int | None = None  # planners choose it unasked up to this p (the cost of a bootstrap)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "output": self.output, "profile": self.profile,
                "defaults": self.defaults, "data_types": list(self.data_types),
                "supports_background": self.supports_background, "time_series": self.time_series,
                "max_p": self.max_p, "assumes": list(self.assumes), "needs_n_above_p": self.needs_n_above_p,
                "needs_context": self.needs_context}

    def fits(self, profile: "Profile", params: dict[str, Any] | None = None) -> Fit:
        """Check this algorithm, with ``params`` over its defaults, against the data ``profile``.

        Problems: a data type it does not take (mixed data count as continuous where it takes
        continuous), a time-series method on rows not ordered in time, more variables than
        ``max_p``, n <= p for a method whose regressions need n > p (causal-learn's LiNGAMs prune by
        ``LassoLarsIC``, which needs more rows than regressors) or for a BIC score (a parent set can
        then fit a variable exactly and every edge raises the score), a contingency-table test on
        data that are not all discrete, no domain or time index for a method that needs one.
        Warnings: the assumptions in ``assumes`` that the linearity and Gaussianity findings
        contradict, a linear test or score on discrete or nonlinear data, a tabular method on rows
        ordered in time."""
        params = {**self.defaults, **{k: v for k, v in (params or {}).items() if v is not None}}
        n, p = profile.n_rows, len(profile.variables)
        dtype, lin, gauss = profile.value("data_type"), profile.value("linearity"), profile.value("gaussianity")
        ts = bool(profile.value("time_series"))
        context = bool(profile.value("heterogeneity")) or profile.time_index is not None
        problems: list[str] = []
        warnings: list[str] = []
        if dtype and dtype not in self.data_types and not (dtype == "mixed" and "continuous" in self.data_types):
            problems.append(f"it takes {' or '.join(self.data_types)} data and these data are {dtype}")
        if self.time_series and not ts:
            problems.append("it is a time-series method and these rows are not ordered in time "
                            "(name the order with --time-index COL, or pass --time-series)")
        if self.max_p is not None and p > self.max_p:
            problems.append(f"it is impractical beyond {self.max_p} variables and these data have {p}")
        if self.needs_n_above_p and n <= p:
            problems.append(f"its regressions need more rows than variables, and these data have {n} rows for "
                            f"{p} variables")
        if self.needs_context and not context:
            problems.append("it needs a domain index (--domain-index COL) or a time index (--time-index COL)")
        test = params.get("indep_test") or params.get("ci_test")
        if test in DISCRETE_TESTS and dtype != "discrete":
            problems.append(f"the {test} test needs discrete data; these data are {dtype}")
        score = params.get("score_func")
        if score in BIC_SCORES and n <= p:
            problems.append(f"the BIC needs more rows than variables ({n} rows for {p} variables): with fewer, "
                            "a parent set can fit a variable exactly and every edge raises the score")
        if ts and not self.time_series and not (self.needs_context and profile.time_index is not None):
            warnings.append("the rows are ordered in time, but this method treats them as independent samples: "
                            "lagged effects are not modelled and autocorrelation can make spurious edges")
        if "linear" in self.assumes and lin == "nonlinear":
            warnings.append(f"the relations look nonlinear, and {self.name} assumes linear relations")
        if "non-gaussian" in self.assumes and gauss == "gaussian":
            warnings.append(f"the noise looks Gaussian, and {self.name} tells cause from effect by non-Gaussian "
                            "noise: its directions may be arbitrary")
        if test in FISHER_Z_TESTS + LINEAR_TS_TESTS:
            if dtype == "discrete":
                warnings.append(f"every variable is discrete, and the {test} test assumes linear-Gaussian data "
                                "(a contingency-table test such as gsq fits them)")
            elif lin == "nonlinear":
                warnings.append(f"the relations look nonlinear, and the {test} test detects linear dependence "
                                "only (a kernel or rank-based test detects more)")
        if test == "mixed_lrt" and lin == "nonlinear":
            warnings.append("the relations look nonlinear, and the mixed_lrt test fits regressions linear in the "
                            "variables (or their log-odds) only")
        if score in BIC_SCORES:
            if dtype == "discrete":
                warnings.append("every variable is discrete, and the BIC scores a linear-Gaussian model "
                                "(score_func local_score_BDeu scores contingency tables)")
            elif lin == "nonlinear":
                warnings.append("the relations look nonlinear, and the BIC scores a linear-Gaussian model")
        evidence = {"n": n, "p": p, "data_type": dtype, "linearity": lin, "gaussianity": gauss, "time_series": ts}
        return Fit(self.name, tuple(problems), tuple(warnings), evidence)


ALGORITHMS: dict[str, AlgorithmSpec] = {}

CI_TESTS: dict[str, str] = {
    "fisherz": "Fisher's z on partial correlation: linear-Gaussian continuous data; fast.",
    "chisq": "Pearson chi-square on contingency tables: discrete/categorical data.",
    "gsq": "G-square (likelihood ratio) on contingency tables: discrete/categorical data.",
    "kci": "Kernel CI test: any functional form, continuous data; cubic in n, use for n < ~1500.",
    "fastkci": "Fast KCI (partitioned kernels): nonparametric for moderate n.",
    "rcit": "Randomised CI test (random Fourier features): nonparametric, near-linear in n.",
    "mv_fisherz": "Fisher's z with test-wise deletion: linear-Gaussian data with missing values, tested on their gaps "
                  "(each test uses the rows complete in its own variables; nothing is imputed).",
    "mixed_lrt": "Likelihood-ratio tests of regressions fitted to each variable's type (linear for continuous, "
                 "logistic for binary, multinomial for unordered categories), in both directions, larger p-value "
                 "(Tsagris et al. 2018): mixed binary/categorical/continuous data; test-wise deletion of missing values.",
    "fisherz_domain": "CD-NOD with a domain index: Fisher-z among the variables, and a likelihood-ratio test of "
                      "whether a variable's linear-Gaussian mechanism (coefficients, intercept, noise variance) "
                      "changes across domains for the tests with the index.",
}


def algorithm(name: str, *, family: str, output: str, profile: str, defaults: dict | None = None,
              data_types: tuple[str, ...] = ("continuous",), supports_background: bool = False,
              time_series: bool = False, max_p: int | None = None, assumes: tuple[str, ...] = (),
              needs_n_above_p: bool = False, needs_context: bool = False, planned_max_p: int | None = None):
    """Decorator registering a discovery runner under ``name`` (the fields of :class:`AlgorithmSpec`)."""
    unknown = set(assumes) - set(ASSUMPTIONS)
    if unknown:
        raise ValueError(f"algorithm '{name}' assumes {sorted(unknown)}; the profile can check {ASSUMPTIONS}")

    def deco(fn: Callable[[DiscoveryInput, dict[str, Any]], CausalGraph]):
        ALGORITHMS[name] = AlgorithmSpec(name, family, output, " ".join(profile.split()), fn, dict(defaults or {}),
                                         data_types, supports_background, time_series, max_p, tuple(assumes),
                                         needs_n_above_p, needs_context, planned_max_p)
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

    if data.moments is not None and not uses_moments(name, merged, data):
        data = replace(data, moments=None)  # a method that needs rows runs on the sample in X
    seed_all(data.seed)
    graph = spec.runner(data, merged)
    graph.algorithm = spec.name
    # what the run itself found out (e.g. CD-NOD's changing modules) is kept beside the parameters
    graph.parameters = {**merged, **{k: v for k, v in graph.parameters.items() if k not in merged}}
    return graph
