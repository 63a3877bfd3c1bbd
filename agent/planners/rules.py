"""The deterministic rules planner: the embedded default, working offline with no LLM.

It encodes the choices a careful analyst makes from the data profile (in the spirit of the
Causal-Copilot hyperparameter rules, documented in ../shared/REFERENCE.md), and writes each one
down with the evidence it used. It never looks at a true graph.
"""

from __future__ import annotations

from typing import Any

from agent.planners.base import Decision, DiscoveryPlan, Request
from tools.profiling import Profile
from tools.registry import get_algorithm


def alpha_for(n: int) -> tuple[float, str]:
    if n < 500:
        return 0.1, f"n = {n} < 500: a looser alpha (0.1) keeps power with few samples"
    if n <= 10_000:
        return 0.05, f"500 <= n = {n} <= 10000: the conventional alpha 0.05"
    return 0.01, f"n = {n} > 10000: a stricter alpha (0.01) since tests gain power with n"


def depth_for(p: int) -> tuple[int, str]:
    if p < 10:
        return -1, f"p = {p} < 10: no limit on conditioning-set size"
    for bound, d in ((25, 5), (50, 4)):
        if p < bound:
            return d, f"p = {p} < {bound}: conditioning sets limited to {d} to bound the number of tests"
    return 3, f"p = {p} >= 50: conditioning sets limited to 3 to bound the number of tests"


def ci_test_for(profile: Profile) -> tuple[str, str]:
    dtype = profile.value("data_type")
    n, p = profile.n_rows, len(profile.variables)
    lin = profile.value("linearity")
    if dtype == "discrete":
        return "gsq", "all variables are discrete/categorical: G-square test on contingency tables"
    if dtype == "mixed":
        return "fisherz", ("mixed discrete/continuous data: Fisher-z on the coded values, a linear approximation "
                           "(discrete variables with few levels behave close to linear-Gaussian for this test)")
    if lin == "nonlinear":
        if n < 1500 and p < 10:
            return "kci", f"nonlinear relations, n = {n} < 1500 and p = {p} < 10: the kernel CI test (KCI) is affordable"
        return "rcit", (f"nonlinear relations with n = {n}, p = {p}: KCI would be too slow (cubic in n); "
                        "the randomised CI test (RCIT, random Fourier features) approximates it in near-linear time")
    return "fisherz", "continuous data with linear relations: Fisher-z on partial correlations"


def bootstrap_size(n: int, p: int, ci_test: str, requested: int | None) -> tuple[int, str]:
    if requested is not None:
        return int(requested), f"{requested} resamples as requested"
    if ci_test in ("kci",):
        return 0, "KCI is too slow to repeat on resamples; edges carry no bootstrap confidence"
    if p > 200:
        return 10, f"p = {p} > 200: 10 resamples keep the run within minutes"
    return 20, "20 resamples give each edge a confidence (the frequency with which it reappears)"


class RulesPlanner:
    """Chooses algorithm, CI test, alpha, depth and bootstrap size from the profile."""

    name = "rules"

    def plan_discovery(self, profile: Profile, request: Request) -> DiscoveryPlan:
        decisions: list[Decision] = []
        n, p = profile.n_rows, len(profile.variables)
        dtype = profile.value("data_type")
        lin = profile.value("linearity")
        gauss = profile.value("gaussianity")

        if request.algorithm:
            algo = get_algorithm(request.algorithm).name
            decisions.append(Decision("discovery.algorithm", algo, "chosen by the user", {}))
        elif profile.value("time_series"):
            algo = "pc"
            decisions.append(Decision(
                "discovery.algorithm", algo,
                "the rows are ordered in time; no time-series algorithm is registered yet, so PC runs on the rows "
                "as if independent (lagged effects are not modelled: read the result with care)",
                {"time_series": profile.findings["time_series"].evidence}))
        elif dtype == "continuous" and lin == "linear" and gauss == "non-gaussian" and p <= 100:
            algo = "direct_lingam"
            decisions.append(Decision(
                "discovery.algorithm", algo,
                "linear relations with non-Gaussian noise make the full causal order identifiable: "
                "DirectLiNGAM returns a DAG with every edge directed",
                {"linearity": profile.findings["linearity"].evidence, "gaussianity": profile.findings["gaussianity"].evidence}))
        else:
            algo = "pc"
            why = {
                "discrete": "discrete data",
                "mixed": "mixed data",
                "continuous": "continuous data" + (" with nonlinear relations" if lin == "nonlinear" else
                                                   " with linear relations and Gaussian noise"),
            }.get(dtype, "the data")
            decisions.append(Decision(
                "discovery.algorithm", algo,
                f"{why}: PC (stable) with a CI test matched to the data; it returns the equivalence class (CPDAG), "
                "leaving undirected what the data cannot orient",
                {"data_type": dtype, "linearity": lin, "gaussianity": gauss, "n": n, "p": p}))

        spec = get_algorithm(algo)
        params: dict[str, Any] = {}
        ci = None
        if "alpha" in spec.defaults:
            a, why = alpha_for(n)
            params["alpha"] = a
            decisions.append(Decision("discovery.alpha", a, why, {"n": n}))
        if "indep_test" in spec.defaults:
            ci, why = ci_test_for(profile)
            params["indep_test"] = ci
            decisions.append(Decision("discovery.indep_test", ci, why, {"data_type": dtype, "linearity": lin}))
        if "depth" in spec.defaults:
            d, why = depth_for(p)
            params["depth"] = d
            decisions.append(Decision("discovery.depth", d, why, {"p": p}))
        if "score_func" in spec.defaults:
            sf = "local_score_BDeu" if dtype == "discrete" else "local_score_BIC"
            params["score_func"] = sf
            decisions.append(Decision("discovery.score", sf, "BDeu for discrete data, BIC for continuous", {"data_type": dtype}))
        for k, v in request.params.items():
            if v is not None:
                params[k] = v
                decisions.append(Decision(f"discovery.{k}", v, "set by the user", {}))

        b, why = bootstrap_size(n, p, params.get("indep_test", ci or ""), request.bootstrap)
        decisions.append(Decision("discovery.bootstrap", b, why, {"n": n, "p": p}))
        return DiscoveryPlan(algorithm=algo, params=params, bootstrap=b, decisions=decisions)
