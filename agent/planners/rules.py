"""The deterministic rules planner: the embedded default, working offline with no LLM.

It encodes the choices a careful analyst makes from the data profile (in the spirit of the
Causal-Copilot hyperparameter rules, documented in ../shared/REFERENCE.md), and writes each one
down with the evidence it used. It never looks at a true graph.
"""

from __future__ import annotations

from typing import Any

from causalpilot.reports.numbers import p_text
from causalpilot.agent.planners.base import Decision, DiscoveryPlan, Request, fit_decisions
from causalpilot.tools.errors import InputError
from causalpilot.tools.profile import Profile
from causalpilot.tools.registry import get_algorithm


def alpha_for(n: int) -> tuple[float, str]:
    if n < 500:
        return 0.1, f"n = {n} < 500: a looser alpha (0.1) keeps power with few samples"
    if n <= 10_000:
        return 0.05, f"500 <= n = {n} <= 10000: the conventional alpha 0.05"
    return 0.01, f"n = {n} > 10000: a stricter alpha (0.01) since tests gain power with n"


def ts_alpha_for(n: int) -> tuple[float, str]:
    if n < 500:
        return 0.05, f"time series with n = {n} < 500: alpha 0.05 keeps some power"
    return 0.01, (f"time series with n = {n}: alpha 0.01, since every variable pair is tested at every lag "
                  "(p^2 * tau_max tests) and false links would multiply")


MIN_TEST_DF = 8  # a Fisher-z test given k variables on n rows has n - k - 3 degrees of freedom; keep at least this


def depth_for(p: int, n: int | None = None) -> tuple[int, str]:
    """The conditioning-set limit from p (the number of tests) and, when given, n: with few rows a test given
    k variables keeps n - k - 3 degrees of freedom, at least :data:`MIN_TEST_DF`."""
    if p < 10:
        d, why = -1, f"p = {p} < 10: no limit on conditioning-set size"
    else:
        d, why = 3, f"p = {p} >= 50: conditioning sets limited to 3 to bound the number of tests"
        for bound, k in ((50, 4), (25, 5)):
            if p < bound:
                d, why = k, f"p = {p} < {bound}: conditioning sets limited to {k} to bound the number of tests"
    cap = None if n is None else max(0, n - 3 - MIN_TEST_DF)
    if cap is not None and (d < 0 or d > cap) and cap < p - 2:
        return cap, (f"n = {n} rows: conditioning sets limited to {cap}, so that every test keeps at least "
                     f"{MIN_TEST_DF} degrees of freedom (n - k - 3)")
    return d, why


# KCI is cubic in n: PC with KCI took 1.8 s at n = 300 and 4.7 s at n = 600 (p = 5) on 2 cores, and
# CD-NOD with KCI at n = 1000, p = 6 did not finish in 10 minutes; beyond these bounds RCIT is used
KCI_MAX_N, KCI_MAX_P = 1000, 8


# From this share of missing values on, PC deletes test-wise instead of the BIC search on imputed values; the
# share rises by TESTWISE_PER_VARIABLE per variable beyond 8, as PC falls behind the exact search with p.
# Chosen on held-out simulations (evals/heldout/missing.py, seeds 9000+, 15-20 data sets each; copilot F1 of
# the exact search on imputed values vs PC with mv_fisherz and a BIC-tuned alpha): p = 4-8 at 20-25% missing
# 0.73-0.88 vs 0.86-0.98, at 15% 0.90 vs 0.91, at 2-10% the exact search ahead by 0.04-0.22; p = 10 at 20%
# 0.73 vs 0.66 (n = 400) and 0.72 vs 0.75 (n = 2000), at 25% 0.62 vs 0.68; p = 12 at 30% 0.49 vs 0.63.
# Judged on seeds 9500+ and 9800+ (evals/README.md).
TESTWISE_MIN_MISSING = 0.15
TESTWISE_PER_VARIABLE = 0.03


def testwise_threshold(p: int) -> float:
    """The share of missing values from which discovery on p variables deletes test-wise."""
    return TESTWISE_MIN_MISSING + TESTWISE_PER_VARIABLE * max(0, p - 8)


def _missing_reason(profile: Profile, algo: str, miss: float, p: int) -> str:
    """Why discovery runs on the data as the profile left them, saying what was done: rows dropped
    (listwise deletion: nothing imputed) or values imputed, and for an imputed BIC search the evidence
    for it over test-wise deletion."""
    summary = profile.findings["missingness"].summary
    start = f"{miss:.1%} of the values are missing; {summary}"
    if any(r.get("repair") == "listwise_deletion" for r in profile.repairs):
        return (f"{start}. {algo} runs on the {profile.n_rows:,} complete rows; nothing is imputed (too few rows "
                "lost for test-wise deletion to matter)")
    why = (f". Below {testwise_threshold(p):.1%} missing (for p = {p}) the BIC search on imputed values was more "
           "accurate than PC with test-wise deletion (held-out simulations)"
           if get_algorithm(algo).family in ("score", "permutation") else
           f". {algo} runs on the imputed values (below {testwise_threshold(p):.1%} missing, for p = {p}, test-wise "
           "deletion is not chosen by itself)")
    return (f"{start}{why}; PC or FCI with --indep-test mv_fisherz would run on the data with their gaps instead")


def testwise_deletion(profile: Profile) -> bool:
    """Whether the values were imputed and so many are missing (:func:`testwise_threshold`) that
    discovery should run on the data with their gaps, deleting test-wise, rather than on imputed values.
    Not for time series or pooled domains, whose methods take no gaps."""
    imputed = any(r.get("repair") == "imputation" for r in profile.repairs)
    return (imputed and (profile.value("missingness") or 0) >= testwise_threshold(len(profile.variables))
            and not profile.value("time_series") and not profile.value("heterogeneity"))


def ci_test_for(profile: Profile) -> tuple[str, str]:
    """The CI test from the column types, linearity and size (the test decides what 'independent' means)."""
    dtype = profile.value("data_type")
    n, p = profile.n_rows, len(profile.variables)
    lin = profile.value("linearity")
    if testwise_deletion(profile) and dtype == "continuous" and lin == "linear":
        return "mv_fisherz", (f"{profile.value('missingness'):.0%} of the values are missing: Fisher-z with test-wise "
                              "deletion (causal-learn's mv_fisherz), each test on the rows complete in its own "
                              "variables, on the data with their gaps: imputed values would enter every test")
    if dtype == "discrete":
        return "gsq", "all variables are discrete/categorical: G-square (likelihood-ratio) test on contingency tables"
    if dtype == "mixed":
        if lin == "nonlinear":
            if n < KCI_MAX_N and p < KCI_MAX_P:
                return "kci", (f"mixed discrete/continuous data with nonlinear relations, n = {n}, p = {p}: KCI on the "
                               "coded values (a kernel test needs no distributional form; discrete codes enter as values)")
            return "rcit", ("mixed discrete/continuous data with nonlinear relations: RCIT (random Fourier features) on "
                            "the coded values, nonparametric and near-linear in n")
        return "fisherz", ("mixed discrete/continuous data with linear relations: Fisher-z on the coded values, a "
                           "linear (conditional-Gaussian) approximation; binary and ordinal codes behave close to "
                           "linear-Gaussian for this test, unordered categories with many levels do not")
    if lin == "nonlinear":
        if n < KCI_MAX_N and p < KCI_MAX_P:
            return "kci", (f"nonlinear relations, n = {n} < {KCI_MAX_N} and p = {p} < {KCI_MAX_P}: the kernel CI test "
                           "(KCI) is affordable")
        return "rcit", (f"nonlinear relations with n = {n}, p = {p}: KCI would be too slow (cubic in n); "
                        "the randomised CI test (RCIT, random Fourier features) approximates it in near-linear time "
                        "(causal-learn's FastKCI was far slower in our runs: > 5 min for PC at n = 2000, p = 5)")
    return "fisherz", "continuous data with linear relations: Fisher-z on partial correlations"


GSQ_MAX_LEVELS = 4  # above this, integer codes in a time series are tested as ordered values, not cells


def ts_ci_test_for(profile: Profile) -> tuple[str, str]:
    """tigramite's CI test for a time series."""
    dtype = profile.value("data_type")
    n, p = profile.n_rows, len(profile.variables)
    if dtype == "discrete":
        many = {c.name: c.n_unique for c in profile.columns
                if c.name in profile.variables and c.kind == "discrete" and c.n_unique > GSQ_MAX_LEVELS}
        if many:
            return "robust_parcorr", (
                f"discrete time series whose integer codes have up to {max(many.values())} levels "
                f"({', '.join(sorted(many))}): with lags, a G-square test splits the rows into more cells than "
                "they can fill (on 600 rows with 9-level counts it had not finished after 10 minutes); robust "
                "partial correlation on ranks tests monotone dependence between ordered codes")
        return "gsquared", "discrete time series with few levels: G-square test"
    if profile.value("linearity") == "nonlinear":
        return "robust_parcorr", (f"nonlinear dependence (n = {n}, p = {p}): robust partial correlation on ranks "
                                  "catches monotone nonlinear links; CMIknn would catch any form but its shuffle test "
                                  "took over 3 minutes at n = 500, p = 4 (ask for it by name for small series)")
    if profile.value("gaussianity") == "non-gaussian":
        return "robust_parcorr", "linear dependence with non-Gaussian noise: robust partial correlation (rank-transformed)"
    return "parcorr", "linear dependence: ParCorr (partial correlation) with analytic p-values"


LATENT_WORDS = ("hidden", "latent", "unmeasured", "unobserved", "confound")


def latent_concern(request: Request) -> bool:
    q = (request.question or "").lower()
    return any(w in q for w in LATENT_WORDS)


def _frac(profile: Profile, finding: str) -> float | None:
    f = profile.findings.get(finding)
    v = None if f is None else f.evidence.get("fraction_rejected")
    return None if v is None else float(v)


def _mostly_counts(profile: Profile) -> bool:
    """True when most analysis variables hold whole numbers (counts), not measurements."""
    cols = [c for c in profile.columns if c.name in profile.variables]
    return bool(cols) and sum(c.integer for c in cols) > len(cols) / 2


def _categories(profile: Profile) -> list[str]:
    """The analysis variables that are unordered categories with more than two labels."""
    return [c.name for c in profile.columns if c.kind == "categorical" and c.name in profile.variables]


def _binaries(profile: Profile) -> list[str]:
    """The analysis variables with two values."""
    return [c.name for c in profile.columns if c.kind == "binary" and c.name in profile.variables]


# binary variables among measurements: the BIC scores each binary child by its logistic likelihood
# (tools/discovery/mixed_score.py) at the standard BIC penalty; see the reason in choose_algorithm
MIXED_SCORE = "local_score_mixed_BIC"
BINARY_PENALTY = 0.5
MIXED_EXACT_MAX_P = 12  # 2^(p-1) logistic fits per binary variable: about 5 s at p = 12 with five of them

ANM_MAX_P = 30  # two Gaussian-process fits per undirected edge (about a second each on 500 rows)
# with unordered categories parent sets batch only by their number of indicator columns: about 1 s per fit
# at p = 14 and 4 s at p = 16 on the 2-core machine (BOSS: 0.5 s); the exact search's cost doubles with
# each variable, so it stops two variables earlier than the registry's planning limit
EXACT_CATEGORY_MARGIN = 2
GES_DISCRETE_MAX_P = 20  # beyond, PC with G-square scales better than GES with BDeu
PORTFOLIO_MAX_P = 50  # a portfolio runs three methods: only for moderate p


def max_p(name: str) -> int:
    """The registry's variable limit of an algorithm (impractical beyond it)."""
    return get_algorithm(name).max_p


def exact_limit(categories: bool = False) -> int:
    """Up to how many variables the rules choose the exact search: the registry's planning limit."""
    limit = get_algorithm("exact_search").planned_max_p
    return limit - EXACT_CATEGORY_MARGIN if categories else limit


def score_search(p: int, categories: bool = False) -> tuple[str, str]:
    """How to search the BIC: exactly while that is cheap, else BOSS. (algorithm, how it is described)"""
    limit = exact_limit(categories)
    if p <= limit:
        return "exact_search", (
            f"the BIC is searched exactly (p = {p} <= {limit}: dynamic programming over variable subsets on "
            "BOSS's score), so the best-scoring graph is found and no search can stop in a local optimum "
            "(held-out simulations, p = 10, 50 data sets each: copilot F1 0.90 vs 0.88 for BOSS with restarts on "
            "dense graphs, 0.94 vs 0.93 with measurement error, 0.96 vs 0.94 on pooled domains, equal or better "
            "elsewhere)")
    return "boss", (f"the BIC is searched by BOSS from several starting orders (p = {p} is too many for an "
                    f"exact search, which stops at {limit})")


# PC with RCIT took about 2 minutes at n = 3000, p = 20 (nonlinear, 2 cores): 20 resamples would add 40
RCIT_FULL_BOOTSTRAP_NP = 20_000


def bootstrap_size(n: int, p: int, ci_test: str, requested: int | None) -> tuple[int, str]:
    if requested is not None:
        return int(requested), f"{requested} resamples as requested"
    if ci_test in ("kci",):
        return 0, "KCI is too slow to repeat on resamples; edges carry no bootstrap confidence"
    if p > 200:
        return 10, f"p = {p} > 200: 10 resamples keep the run within minutes"
    if ci_test == "rcit" and n * p > RCIT_FULL_BOOTSTRAP_NP:
        return 10, (f"RCIT with n * p = {n * p} > {RCIT_FULL_BOOTSTRAP_NP}: one PC run takes minutes, so 10 resamples "
                    "(an edge's frequency is then known to about +-0.15) rather than 20")
    return 20, "20 resamples give each edge a confidence (the frequency with which it reappears)"


def measured_with_error(profile: Profile, algo: str) -> tuple[dict[str, float], str] | None:
    """({variable: error share}, reason) when the profile flags variables as measured with error and
    the exact search runs: the search then scores the covariance with those errors taken off, the
    model the check preferred; None otherwise."""
    found = profile.findings.get("measurement_error")
    if algo != "exact_search" or found is None or not found.value:
        return None
    flagged = found.evidence["flagged"]
    shares = {f["variable"]: f["error_share"] for f in flagged}
    added = ", ".join(f"{a} - {b}" for f in flagged for a, b in f["edges_added"]) or "none"
    taken = ", ".join(f"{share:.0%} of {name}'s" for name, share in shares.items())
    return shares, (
        f"{found.summary}. The search scores the covariance with {taken} variance taken off as error, the model "
        "the check preferred, so the pairs conditioning on a noisy variable cannot separate are not linked for that "
        f"reason; the links a search on the raw data would add ({added}) are the uncertain ones (held-out, 30 data "
        "sets each: copilot F1 0.895 vs 0.847 with error on the best-connected variable, 0.928 vs 0.869 with error "
        "on every variable, 0.915 vs 0.909 on two; unchanged on 90 without error. Checking again after each "
        "variable found, with error shares up to 0.9, on data made as Causal-Copilot makes them (error of SD 0.3 on "
        "half the columns; seeds 70000+, 30 data sets): copilot F1 0.669 vs 0.644 for one variable with shares up "
        "to 0.5, arrowhead F1 0.413 vs 0.390, SHD 8.3 vs 8.6; FCI 0.697 there, arrowhead F1 0.394, SHD 11.3; judged on the "
        "suites' own seeds: the same graphs on copilot-peer, copilot F1 0.957 -> 0.965 on copilot-scenarios' "
        "measurement error)")


EQUAL_COVARIANCE_P = 0.05  # Box's M p-value above which the domains are read as differing in their means only


def means_only_shift(profile: Profile, algo: str) -> str | None:
    """Why the exact search should score pooled domains as one model whose intercepts alone differ
    (``score_by='domain_means'``), or None: when the profile finds the covariance within domains the
    same in every domain (Box's M p >= :data:`EQUAL_COVARIANCE_P`) on continuous data."""
    het = profile.findings.get("heterogeneity")
    p_box = None if het is None or not het.value else het.evidence.get("box_m_p")
    if (algo != "exact_search" or p_box is None or p_box < EQUAL_COVARIANCE_P
            or profile.value("data_type") != "continuous"):
        return None
    shifted = het.evidence.get("mean_shift") or []
    return (f"the covariance within domains is the same in every domain (Box's M {p_text(p_box)}) while the means of "
            f"{len(shifted)} variable(s) shift: one linear SEM with intercepts free per domain, so coefficients and "
            "noise are estimated on all rows and the BIC is pooled, not summed over separate fits per domain "
            "(held-out, 30 data sets each: copilot F1 0.961 vs 0.945 with five domains of 400 rows, 0.960 vs 0.962, a "
            "tie, with three of 333; never chosen where the coefficients change); "
            "the change test still names the shifted mechanisms")


class RulesPlanner:
    """Chooses algorithm, CI test, alpha, depth and bootstrap size from the profile."""

    name = "rules"

    def plan_discovery(self, profile: Profile, request: Request) -> DiscoveryPlan:
        """The plan for these data. An algorithm the user forced is refused (InputError) when the
        registry's fit check finds it cannot run on them, and runs with a ``discovery.fit_check``
        decision per contradicted assumption otherwise; one the rules chose that cannot run gives way
        to PC (PCMCI+ for time series)."""
        if request.algorithm:
            spec = get_algorithm(request.algorithm)
            forced = Decision("discovery.algorithm", spec.name, "chosen by the user", {})
            plan = self._plan(profile, request, forced, [])
            plan.decisions[1:1] = fit_decisions(spec, profile, plan.params)
            return plan
        algo, why, evidence, portfolio = self.choose_algorithm(profile, request)
        plan = self._plan(profile, request, Decision("discovery.algorithm", algo, why, evidence), portfolio)
        fit = get_algorithm(algo).fits(profile, plan.params)
        if fit.ok:
            return plan
        fallback = "pcmci_plus" if profile.value("time_series") else "pc"
        why = (f"{why}; but {algo} cannot run on these data ({'; '.join(fit.problems)}), so {fallback} with a CI test "
               "matched to the data instead")
        plan = self._plan(profile, request, Decision("discovery.algorithm", fallback, why,
                                                     {**evidence, "refused": {algo: list(fit.problems)}}), [])
        fit = get_algorithm(fallback).fits(profile, plan.params)
        if not fit.ok:
            raise InputError(fit.refusal())
        return plan

    def _plan(self, profile: Profile, request: Request, choice: Decision,
              portfolio: list[tuple[str, dict[str, Any]]]) -> DiscoveryPlan:
        """The parameters, bootstrap size and orientation step for the algorithm of ``choice``."""
        n, p = profile.n_rows, len(profile.variables)
        dtype = profile.value("data_type")
        lin = profile.value("linearity")
        algo = choice.choice
        decisions: list[Decision] = [choice]
        miss = profile.value("missingness") or 0
        if miss and not testwise_deletion(profile):
            decisions.append(Decision("discovery.missing_values", "handled before discovery",
                                      _missing_reason(profile, algo, miss, p), {"missing_fraction": miss}))

        spec = get_algorithm(algo)
        params: dict[str, Any] = {}
        ci = None
        if "alpha" in spec.defaults:
            a, why = ts_alpha_for(n) if spec.time_series else alpha_for(n)
            params["alpha"] = a
            decisions.append(Decision("discovery.alpha", a, why, {"n": n}))
        if "ci_test" in spec.defaults:
            ci, why = ts_ci_test_for(profile)
            params["ci_test"] = ci
            decisions.append(Decision("discovery.ci_test", ci, why, {"data_type": dtype, "linearity": lin}))
        if "lagged_fdr" in spec.defaults:
            params["lagged_fdr"] = "bh"
            decisions.append(Decision("discovery.lagged_fdr", "bh", (
                "lagged links are kept at a Benjamini-Hochberg false discovery rate of alpha: with p^2 * tau_max "
                "candidate links a per-test alpha lets false links grow with the lags examined (held-out VAR "
                "processes, 10 each: copilot F1 0.94 -> 0.97 at p = 20, 0.98 -> 1.00 at p = 5 up to lag 20)"),
                {"p": p}))
        if "indep_test" in spec.defaults:
            ci, why = ci_test_for(profile)
            if algo == "cdnod" and ci in ("kci", "fastkci", "rcit") and dtype == "continuous" and n > 500:
                ci, why = "fisherz", (
                    "CD-NOD on pooled domains: a mixture of domains looks nonlinear to the pooled linearity check even "
                    f"when each domain is linear, and a kernel test at n = {n} would take very long; Fisher-z with the "
                    "domain index in the conditioning sets (pass --indep-test kci for a nonparametric run)")
            if algo == "cdnod" and ci == "fisherz" and dtype in ("continuous", "mixed") and profile.value("heterogeneity"):
                ci, why = "fisherz_domain", (
                    "CD-NOD with a domain index: Fisher-z among the variables, and for the tests with the index a "
                    "likelihood-ratio test of whether a variable's linear-Gaussian mechanism (coefficients, intercept, "
                    "noise variance) differs between domains; plain Fisher-z would read the index as a number and "
                    "miss every change that is not a shift in the mean")
            params["indep_test"] = ci
            decisions.append(Decision("discovery.indep_test", ci, why, {"data_type": dtype, "linearity": lin}))
        if "depth" in spec.defaults and algo != "grasp":
            d, why = depth_for(p, n)
            params["depth"] = d
            decisions.append(Decision("discovery.depth", d, why, {"p": p}))
        if "score_func" in spec.defaults and choice.evidence.get("binary") and algo in ("exact_search", "boss"):
            params["score_func"], params["binary_penalty"] = MIXED_SCORE, BINARY_PENALTY
            decisions.append(Decision("discovery.score", MIXED_SCORE, (
                "the mixed BIC: a logistic likelihood for each binary variable given its parents, linear-Gaussian for "
                "the others (unordered categories as indicator blocks)"), {"binary": choice.evidence["binary"]}))
            decisions.append(Decision("discovery.binary_penalty", BINARY_PENALTY, (
                f"the standard BIC penalty (0.5 log n per coefficient) for a binary variable's logistic regression, "
                f"the Gaussian parts keeping the searches' {spec.defaults.get('penalty', 1.0)}: a 0/1 observation "
                "carries less information than a measurement, and the heavier penalty dropped true causes of binary "
                "variables (held-out, mean copilot F1 over 5 scenarios: 0.968 on the choosing seeds and 0.930 on "
                "the judging seeds, against 0.879 and 0.868 with penalty 1 on every part, 0.888 and 0.895 with 0.5; "
                "it costs 0.02-0.06 where binary variables are as often causes as effects)"), {}))
        elif "score_func" in spec.defaults:
            sf = "local_score_BDeu" if dtype == "discrete" else spec.defaults["score_func"]
            params["score_func"] = sf
            decisions.append(Decision("discovery.score", sf, "BDeu for discrete data, BIC (linear-Gaussian) for continuous",
                                      {"data_type": dtype}))
        if "starts" in spec.defaults:
            params["starts"], params["confirm"] = spec.defaults["starts"], spec.defaults["confirm"]
            decisions.append(Decision("discovery.starts", params["starts"], (
                f"BOSS from the data's column order, then from seeded random orders, until the best score has been "
                f"reached {params['confirm']} times (at most {params['starts']} runs), keeping the best-scoring graph: one "
                "run can stop in a local optimum (held-out dense simulations: copilot F1 0.73 with one run, 0.88 with "
                "restarts, 5.6 runs on average; sparse graphs stop after 2-3)"), {"p": p}))
        error = measured_with_error(profile, algo)
        if error is not None:
            params["error_variance"] = error[0]
            decisions.append(Decision("discovery.measurement_error", ", ".join(error[0]), error[1],
                                      {"flagged": profile.findings["measurement_error"].evidence["flagged"]}))
        means = means_only_shift(profile, algo)
        if means is not None:
            params["score_by"] = "domain_means"
            decisions.append(Decision("discovery.score_by", "domain_means", means,
                                      {"box_m_p": profile.findings["heterogeneity"].evidence.get("box_m_p")}))
        for k, v in request.params.items():
            if v is not None:
                params[k] = v
                decisions.append(Decision(f"discovery.{k}", v, "set by the user", {}))

        b, why = bootstrap_size(n, p, params.get("indep_test", ci or ""), request.bootstrap)
        decisions.append(Decision("discovery.bootstrap", b, why, {"n": n, "p": p}))
        if portfolio:
            portfolio = [(name, {**{k: v for k, v in params.items() if k in get_algorithm(name).defaults}, **extra})
                         for name, extra in portfolio]
        orient = None
        if (spec.output == "CPDAG" and dtype == "continuous" and lin == "nonlinear" and not portfolio
                and not profile.value("time_series") and not profile.value("heterogeneity")
                and p <= ANM_MAX_P and n >= 100):
            orient = "additive_noise"
            decisions.append(Decision("discovery.orient", orient, (
                "the relations are nonlinear: where the equivalence class leaves an edge undirected, an additive-noise "
                "model can still tell cause from effect (the residual is independent of the cause in one direction "
                "only); held-out simulations with additive nonlinear mechanisms, 20 data sets: arrowhead F1 0.42 -> "
                "0.73 for PC with RCIT, no orientation against the true graph"), {"linearity": lin, "p": p}))
        return DiscoveryPlan(algorithm=algo, params=params, bootstrap=b, decisions=decisions, portfolio=portfolio,
                             orient=orient)

    def choose_algorithm(self, profile: Profile, request: Request
                         ) -> tuple[str, str, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        """(algorithm, reason, evidence, portfolio) from the profile, most specific situation first."""
        n, p = profile.n_rows, len(profile.variables)
        dtype = profile.value("data_type")
        lin = profile.value("linearity")
        gauss = profile.value("gaussianity")
        ev = {"data_type": dtype, "linearity": lin, "gaussianity": gauss, "n": n, "p": p}
        latent = latent_concern(request)
        if profile.value("time_series"):
            ev["time_series"] = profile.findings["time_series"].evidence
            if latent:
                return ("lpcmci", "time series, and the question raises hidden common causes: LPCMCI allows latent "
                        "confounders (bidirected edges) at the price of power", ev, [])
            if dtype == "continuous" and lin == "linear" and gauss == "non-gaussian" and p <= max_p("var_lingam") \
                    and not _mostly_counts(profile):
                return ("var_lingam", "time series with linear dynamics and non-Gaussian noise: VAR-LiNGAM identifies "
                        "contemporaneous directions as well as lagged effects", ev, [])
            return ("pcmci_plus", "the rows are ordered in time: PCMCI+ finds lagged and contemporaneous links with "
                    "false positives controlled under autocorrelation (causal sufficiency and stationarity assumed)", ev, [])
        if profile.value("heterogeneity"):
            ev["heterogeneity"] = profile.findings["heterogeneity"].evidence
            if (dtype in ("continuous", "mixed") and lin == "linear" and gauss != "non-gaussian" and p <= max_p("boss")
                    and not latent):
                cats = _categories(profile)
                algo, how = score_search(p, categories=bool(cats))
                with_cats = (f" Unordered categories ({', '.join(cats)}) enter the score and the change test as "
                             "their indicator columns (held-out, three domains, p = 8 with two three-level categories, "
                             "30 data sets: copilot F1 0.90 vs 0.65 for CD-NOD on the codes).") if cats else ""
                return (algo, "the data pool several domains, and within each domain the relations are linear with "
                        "Gaussian noise, so the score is the BIC summed over domains (one DAG, coefficients, means and "
                        "noise free per domain: the model CD-NOD assumes; held-out simulations with three domains, 20 "
                        f"data sets: copilot F1 0.98 for BOSS vs 0.85 for CD-NOD); {how}. A per-variable "
                        "likelihood-ratio test then names the mechanisms that change across domains; returns a CPDAG."
                        + with_cats, ev, [])
            return ("cdnod", "the data pool several domains/regimes (a domain index is present): CD-NOD models the "
                    "distribution shift as a context variable, and the changing mechanisms help orient edges", ev, [])
        if latent:
            return ("fci", "the question raises hidden common causes: FCI does not assume causal sufficiency and "
                    "returns a PAG (bidirected edges mark latent confounding)", ev, [])
        if testwise_deletion(profile) and dtype == "continuous" and lin == "linear":
            ev["missing_fraction"] = profile.value("missingness")
            return ("pc", f"{profile.value('missingness'):.0%} of the values are missing (at least "
                    f"{testwise_threshold(p):.1%} for p = {p}): PC with test-wise deletion runs on the data with their "
                    "gaps, where a score would need every value and so imputed ones, which invent dependences (an "
                    "imputed value is a regression on all the other columns). Held-out simulations with values "
                    "missing completely at random (15 data sets each, evals/README.md): copilot F1 0.86-0.98 for PC "
                    "with mv_fisherz and a BIC-tuned alpha against 0.54-0.88 for the exact BIC search on imputed "
                    "values at 20-30% missing and p = 4 to 8; below the threshold, and for more variables, the "
                    "exact search was ahead", ev, [])
        if dtype == "discrete":
            if p <= GES_DISCRETE_MAX_P:
                return ("ges", f"discrete data with p = {p} <= {GES_DISCRETE_MAX_P}: GES with the BDeu score (no test "
                        "thresholds)", ev, [])
            return ("pc", f"discrete data with p = {p} > {GES_DISCRETE_MAX_P}: PC with the G-square test scales better "
                    "than GES", ev, [])
        if dtype == "continuous" and lin == "linear":
            gfrac = _frac(profile, "gaussianity")
            if gauss == "non-gaussian" and _mostly_counts(profile) and p <= max_p("boss"):
                algo, how = score_search(p)
                return (algo, "linear relations between integer counts: their non-Gaussianity comes from "
                        "discreteness and from noise that grows with the mean, not from the independent additive "
                        "noise LiNGAM needs to find directions (held-out Poisson simulations, p = 8, 16 data sets: "
                        f"copilot F1 1.00 for the exact BIC search vs 0.35 for DirectLiNGAM); {how}; returns a "
                        "CPDAG", ev, [])
            if gauss == "non-gaussian" and p <= max_p("direct_lingam"):
                return ("direct_lingam", "linear relations with non-Gaussian noise make the full causal order "
                        "identifiable: DirectLiNGAM returns a DAG with every edge directed", ev, [])
            if gauss == "non-gaussian":
                return ("ica_lingam", f"linear non-Gaussian data with p = {p} > {max_p('direct_lingam')}: ICA-LiNGAM "
                        "scales better than DirectLiNGAM", ev, [])
            if gfrac is not None and 0.25 <= gfrac < 0.5 and p <= PORTFOLIO_MAX_P:
                ev["gaussianity_fraction_rejected"] = gfrac
                return ("pc", f"noise Gaussianity is ambiguous ({gfrac:.0%} of residuals reject normality): a portfolio "
                        "of PC, BOSS and DirectLiNGAM, reconciled by majority vote", ev,
                        [("boss", {}), ("direct_lingam", {})])
            if p <= max_p("boss"):
                algo, how = score_search(p)
                return (algo, f"linear-Gaussian data: {how}. A BIC search was the most accurate "
                        "method we benchmarked on such data at every size and density, notably when the graph is "
                        "dense or measured with error, where PC loses edges and orientations (held-out simulations, "
                        "10 seeds each, copilot F1 at p = 10: 0.98 for BOSS vs 0.95 for tuned PC; dense 0.67 vs 0.50; "
                        "p = 20 0.93 vs 0.60); returns a CPDAG", ev, [])
            return ("pc", f"p = {p} > {max_p('boss')} linear-Gaussian variables: PC with Fisher-z and a depth limit is "
                    "the method that finishes", ev, [])
        if dtype == "mixed" and lin == "linear" and p <= max_p("boss"):
            cats = _categories(profile)
            binaries = _binaries(profile)
            if binaries:
                ev["binary"] = binaries
                algo = "exact_search" if p <= min(MIXED_EXACT_MAX_P, exact_limit(bool(cats))) else "boss"
                how = ("searched exactly" if algo == "exact_search" else
                       f"searched by BOSS from several starting orders (p = {p} > {MIXED_EXACT_MAX_P})")
                return (algo, f"mixed data with linear relations and binary variables ({', '.join(binaries[:6])}"
                        f"{', ...' if len(binaries) > 6 else ''}): the BIC scores each binary variable by the "
                        "likelihood of a logistic regression on its parents, the others as before (a linear-Gaussian "
                        "score on a 0/1 code, as Fisher-z or the degenerate-Gaussian score, which gives a two-level "
                        "variable one indicator, the code itself, fits a binary child badly and pushes it to be a "
                        "parent: a treatment and an outcome caused by the same measurements became the parents of "
                        "one of them). Held-out simulations (evals/heldout/binary.py, judged on seeds 8500+, 15 data "
                        "sets each): a binary treatment and a binary outcome caused by 3-4 measurements, copilot F1 "
                        "0.98 and 0.91 against 0.54 and 0.67 for the BIC on the 0/1 codes; random graphs with 30-50% "
                        "binary variables 0.89-0.95 against 0.95-0.98, where the codes do a little better; "
                        f"{how}; returns a CPDAG", ev, [])
            algo, how = score_search(p, categories=bool(cats))
            if not cats:
                return (algo, f"mixed data with linear relations and p = {p}: every discrete column is binary or has "
                        "a few ordered integer levels, so the linear-Gaussian score on the coded values is the same "
                        "approximation Fisher-z would make, and a BIC search does better (held-out simulations with 20% "
                        f"binned variables, 15 data sets: copilot F1 0.96 for BOSS vs 0.88 for PC with Fisher-z): {how}; "
                        "returns a CPDAG", ev, [])
            return (algo, f"mixed data with linear relations and unordered categories ({', '.join(cats)}): the BIC "
                    "scores each category by its indicator columns (the degenerate-Gaussian score), so no order is "
                    "read into its labels, where Fisher-z on the codes would assume one (held-out simulations, p = 8 "
                    "with two three-level categories, 30 data sets each: copilot F1 0.93 for the exact search on "
                    "indicators vs 0.85 on the codes and 0.79 for PC with Fisher-z at n = 1000; 0.96 vs 0.88 and "
                    f"0.79 at n = 2000): {how}; returns a CPDAG", ev, [])
        lfrac = _frac(profile, "linearity")
        if dtype == "continuous" and lfrac is not None and 0.1 < lfrac <= 0.2 and p <= PORTFOLIO_MAX_P:
            ev["linearity_fraction_rejected"] = lfrac
            return ("pc", f"linearity is borderline ({lfrac:.0%} of pairs reject it): a portfolio of PC with a kernel "
                    "test, PC with Fisher-z and BOSS, reconciled by majority vote", ev,
                    [("pc", {"indep_test": "fisherz"}), ("boss", {})])
        why = {"mixed": "mixed data", "continuous": "continuous data with nonlinear relations"}.get(dtype, "the data")
        return ("pc", f"{why}: PC (stable) with a CI test matched to the data; it returns the equivalence class "
                "(CPDAG), leaving undirected what the data cannot orient", ev, [])
