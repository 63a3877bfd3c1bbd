"""Time-series discovery: tigramite's PCMCI, PCMCI+ and LPCMCI; VAR Granger causality; VAR-LiNGAM.

Rows are taken in time order (the loop sorts by the time index). Every algorithm returns a
``lagged`` graph: an edge with ``lag = k`` says the source at t-k causes the target at t; lag 0 is
contemporaneous. Self-lags (X at t-1 -> X at t) are real causal edges of a process and are kept.
The largest lag examined, ``tau_max``, is chosen from the data by :func:`choose_tau_max` when not
given, and the loop records that choice with its reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causalpilot.tools.quiet import quiet
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.registry import DiscoveryInput, algorithm

TAU_CAP = 10  # for the VAR order and the partial autocorrelations
SCREEN_CAP = 30  # the cross-lag screen looks this far back at most ...
SCREEN_BUDGET = 400  # ... and at most this many lagged variables (p * lag), so PCMCI stays affordable
SCREEN_ALPHA = 0.01  # family-wise, Bonferroni over every pair and lag screened
TS_CI_TESTS = ("parcorr", "robust_parcorr", "cmiknn", "gsquared")  # GPDC needs the dcor package, not installed


def cross_lag_screen(X: np.ndarray, order: int, max_lag: int, alpha: float = SCREEN_ALPHA) -> int:
    """The last lag k at which some variable's VAR(order) residual at t correlates with another's (or its
    own) residual at t-k, Bonferroni over the p * p * max_lag correlations; 0 when none does.

    A VAR order chosen by BIC pays for p * p coefficients per lag, so one cross effect at lag 20 never
    earns its lag, and univariate partial autocorrelations do not see cross effects at all. Residuals of
    the low-order VAR are near white noise, so their lagged correlations are about N(0, 1/n) under no
    further effect, and an effect of X_i at t-k on X_j shows as a spike at lag k.
    """
    n, p = X.shape
    o = max(int(order), 1)
    if n - o <= max_lag + 10:
        return 0
    Xc = X - X.mean(0)
    lagged = np.column_stack([Xc[o - k:n - k] for k in range(1, o + 1)])
    R = Xc[o:] - lagged @ np.linalg.lstsq(lagged, Xc[o:], rcond=None)[0]
    sd = R.std(0)
    keep = sd > 0
    R = (R[:, keep] - R[:, keep].mean(0)) / sd[keep]
    m, q = R.shape
    from scipy.stats import norm

    z = float(norm.isf(alpha / 2 / max(q * q * max_lag, 1)))
    last = 0
    for k in range(1, max_lag + 1):
        corr = R[k:].T @ R[:-k] / (m - k)
        if np.any(np.abs(corr) * np.sqrt(m - k) > z):
            last = k
    return last


def choose_tau_max(X: np.ndarray, cap: int = TAU_CAP) -> tuple[int, str, dict[str, Any]]:
    """The largest lag worth examining, from the data alone.

    Three readings are combined: the lag order of a VAR chosen by BIC (statsmodels); per variable the
    last lag whose partial autocorrelation leaves the 95% white-noise band (median over variables),
    both capped at ``cap``; and the cross-lag screen of the VAR's residuals (:func:`cross_lag_screen`),
    which looks further back (``SCREEN_CAP``, and no more than ``SCREEN_BUDGET`` lagged variables). The
    largest is used (a lag left out cannot be found; an extra lag only costs some power), at least 1
    and at most n/20, so each lag keeps enough rows.

    Held-out VAR processes (seeds 7000+, 10 each, PCMCI+): p = 5 with cross effects up to lag 20,
    copilot F1 0.67 -> 0.98; p = 20 up to lag 3 (where BIC chose lag 1), 0.74 -> 0.94; p = 5 up to lag 3
    unchanged (0.99).
    """
    from statsmodels.tsa.api import VAR
    from statsmodels.tsa.stattools import pacf

    n, p = X.shape
    cap = int(max(1, min(cap, n // 20)))
    evidence: dict[str, Any] = {"cap": cap}
    bic_lag = None
    try:
        with quiet():
            sel = VAR(X).select_order(maxlags=cap)
        bic_lag = int(sel.selected_orders["bic"])
        evidence["var_order_bic"] = bic_lag
        evidence["var_order_aic"] = int(sel.selected_orders["aic"])
    except Exception as exc:  # a singular VAR fit (constant or collinear series)
        evidence["var_order_error"] = f"{type(exc).__name__}"
    band = 1.96 / np.sqrt(n)
    lags = []
    for j in range(p):
        x = X[:, j]
        if np.std(x) == 0:
            continue
        pa = pacf(x, nlags=cap, method="ywm")[1:]
        sig = np.nonzero(np.abs(pa) > band)[0]
        lags.append(int(sig[-1] + 1) if len(sig) else 0)
    pacf_lag = int(np.median(lags)) if lags else 0
    evidence["pacf_last_significant_lag_per_variable"] = lags
    evidence["pacf_median"] = pacf_lag
    tau = int(min(cap, max(1, pacf_lag, bic_lag or 0)))
    reach = int(max(1, min(SCREEN_CAP, n // 20, max(cap, SCREEN_BUDGET // max(p, 1)))))
    screened = cross_lag_screen(X, bic_lag or 1, reach) if bic_lag is not None else 0
    evidence["cross_lag_screen"] = {"last_lag": screened, "looked_back": reach, "alpha": SCREEN_ALPHA}
    reason = (f"the larger of the VAR order chosen by BIC ({bic_lag}) and the median over variables of the last "
              f"significant partial autocorrelation ({pacf_lag}), capped at {cap}")
    if screened > tau:
        tau = screened
        reason = (f"tau_max = {tau}: the last lag at which residuals of the VAR({bic_lag}) still correlate across "
                  f"time (screened back to lag {reach}, Bonferroni at {SCREEN_ALPHA}), beyond {reason}")
    else:
        reason = f"tau_max = {tau}: {reason}; the residuals' cross-lag screen found nothing further back"
    return tau, reason, evidence


def _tau(data: DiscoveryInput, params: dict[str, Any]) -> int:
    tau = params.get("tau_max")
    if tau is None:
        tau = choose_tau_max(data.X)[0]
    tau = int(tau)
    if tau < 1:
        raise InputError(f"tau_max must be at least 1, got {tau}.")
    if data.X.shape[0] <= 3 * (tau + 1):
        raise InputError(f"The series has {data.X.shape[0]} rows, too few for tau_max = {tau}.")
    return tau


def _ci_test(name: str, seed: int):
    from tigramite.independence_tests.parcorr import ParCorr

    if name == "parcorr":
        return ParCorr(significance="analytic")
    if name == "robust_parcorr":
        from tigramite.independence_tests.robust_parcorr import RobustParCorr

        return RobustParCorr(significance="analytic")
    if name == "cmiknn":
        from tigramite.independence_tests.cmiknn import CMIknn

        return CMIknn(significance="shuffle_test", seed=seed)
    if name == "gsquared":
        from tigramite.independence_tests.gsquared import Gsquared

        return Gsquared(significance="analytic")
    raise InputError(f"Unknown time-series CI test '{name}'; choose one of: {', '.join(TS_CI_TESTS)}.")


def link_assumptions(data: DiscoveryInput, tau_min: int, tau_max: int) -> dict | None:
    """tigramite link assumptions carrying the forbidden directions of the background knowledge.

    A forbidden direction a -> b removes the lagged links a(t-k) -> b(t) and, at lag 0, leaves only
    b -> a possible. Required edges are enforced afterwards by the post-check (tigramite would
    treat a required contemporaneous link as certain, which the knowledge file does not say).
    """
    bg = data.background
    if bg is None or bg.is_empty():
        return None
    p = len(data.nodes)
    la: dict[int, dict] = {j: {} for j in range(p)}
    for j, b in enumerate(data.nodes):
        for i, a in enumerate(data.nodes):
            for lag in range(max(tau_min, 1), tau_max + 1):
                if not bg.forbids(a, b) or (i == j):
                    la[j][(i, -lag)] = "-?>"
    if tau_min == 0:
        for j, b in enumerate(data.nodes):
            for i, a in enumerate(data.nodes):
                if i >= j:
                    continue
                f_ab, f_ba = bg.forbids(a, b), bg.forbids(b, a)
                if f_ab and f_ba:
                    continue
                # la[j][(i, 0)] is graph[i, j, 0]: the link between a = i and b = j
                mark = "<?-" if f_ab else "-?>" if f_ba else "o?o"
                la[j][(i, 0)] = mark
                la[i][(j, 0)] = {"<?-": "-?>", "-?>": "<?-", "o?o": "o?o"}[mark]
    return la


_MARKS = {"-->": "directed", "<->": "bidirected", "o->": "partially_directed", "o-o": "nondirected",
          "x-x": "nondirected", "---": "undirected"}


def graph_from_tigramite(graph: np.ndarray, nodes: list[str], circles_are_undirected: bool = False) -> CausalGraph:
    """tigramite's graph[i, j, tau] strings (i at t-tau, j at t) as a lagged CausalGraph.

    Under causal sufficiency (PCMCI, PCMCI+) an 'o-o' link is an edge whose direction the data
    cannot decide, i.e. ``undirected``; in LPCMCI's PAG-like output circles keep their meaning.
    """
    p, _, T = graph.shape
    edges = []
    for tau in range(T):
        for i in range(p):
            for j in range(p):
                s = str(graph[i, j, tau])
                if not s or (tau == 0 and (i >= j)):
                    continue
                if tau == 0 and s in ("<--", "<-o"):
                    edges.append(Edge(nodes[j], nodes[i], "directed" if s == "<--" else "partially_directed", None, 0))
                    continue
                etype = _MARKS.get(s.replace("?", "-"), "nondirected")
                if circles_are_undirected and etype == "nondirected":
                    etype = "undirected"
                edges.append(Edge(nodes[i], nodes[j], etype, None, tau))
    return CausalGraph(list(nodes), edges, "lagged")


def _dataframe(data: DiscoveryInput):
    from tigramite import data_processing as pp

    return pp.DataFrame(np.asarray(data.X, dtype=float), var_names=list(data.nodes))


_TS_PROFILE_COST = "Cost grows with p^2 * tau_max and the CI test (ParCorr is fast; CMIknn is slow)."


@algorithm(
    "pcmci", family="time-series", output="lagged",
    profile=f"""PCMCI (tigramite): a PC-style condition selection per variable followed by momentary
    conditional independence (MCI) tests, which keep false positives under control even with strong
    autocorrelation. Finds lagged links (lag >= 1) only, no contemporaneous ones. Assumes
    stationarity, causal sufficiency and no instantaneous effects; ParCorr for linear, CMIknn for
    nonlinear dependence. The standard choice for autocorrelated multivariate time series.
    {_TS_PROFILE_COST}""",
    defaults={"alpha": 0.01, "pc_alpha": 0.2, "ci_test": "parcorr", "tau_max": None, "lagged_fdr": "none"},
    data_types=("continuous", "discrete"), supports_background=True, time_series=True, max_p=60,
)
def run_pcmci(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from tigramite.pcmci import PCMCI

    tau = _tau(data, params)
    pcmci = PCMCI(dataframe=_dataframe(data), cond_ind_test=_ci_test(params["ci_test"], data.seed), verbosity=0)
    with quiet():
        res = pcmci.run_pcmci(tau_min=1, tau_max=tau, pc_alpha=params.get("pc_alpha"),
                              alpha_level=float(params["alpha"]), link_assumptions=link_assumptions(data, 1, tau),
                              fdr_method=_fdr_method(params))
    return graph_from_tigramite(res["graph"], data.nodes, circles_are_undirected=True)


def _fdr_method(params: dict[str, Any]) -> str:
    fdr = str(params.get("lagged_fdr") or "none")
    if fdr not in ("none", "bh"):
        raise InputError(f"lagged_fdr must be 'none' or 'bh', got '{fdr}'.")
    return "fdr_bh" if fdr == "bh" else "none"


def drop_lagged_links_by_fdr(graph: np.ndarray, q_matrix: np.ndarray, alpha: float) -> np.ndarray:
    """PCMCI+ decides its skeleton at pc_alpha test by test; tigramite's FDR option only corrects the
    returned p-values. Lagged links whose Benjamini-Hochberg q-value exceeds alpha are dropped here
    (their direction is time order, so no orientation depends on them); contemporaneous links stay as
    PCMCI+ oriented them."""
    out = graph.copy()
    lagged = np.zeros(q_matrix.shape, dtype=bool)
    lagged[:, :, 1:] = True
    out[(q_matrix > alpha) & lagged] = ""
    return out


@algorithm(
    "pcmci_plus", family="time-series", output="lagged",
    profile=f"""PCMCI+ (tigramite): extends PCMCI to contemporaneous links, orienting them by
    time order, v-structures and Meek's rules; unorientable contemporaneous links stay o-o. Use when
    effects can be faster than the sampling interval. Assumes stationarity and causal sufficiency.
    Output: lagged graph with lag-0 edges. {_TS_PROFILE_COST}""",
    defaults={"alpha": 0.01, "ci_test": "parcorr", "tau_max": None, "lagged_fdr": "none"},
    data_types=("continuous", "discrete"), supports_background=True, time_series=True, max_p=60,
)
def run_pcmci_plus(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from tigramite.pcmci import PCMCI

    tau = _tau(data, params)
    alpha = float(params["alpha"])
    fdr = _fdr_method(params)
    pcmci = PCMCI(dataframe=_dataframe(data), cond_ind_test=_ci_test(params["ci_test"], data.seed), verbosity=0)
    with quiet():
        res = pcmci.run_pcmciplus(tau_min=0, tau_max=tau, pc_alpha=alpha,
                                  link_assumptions=link_assumptions(data, 0, tau), fdr_method=fdr)
    graph = res["graph"] if fdr == "none" else drop_lagged_links_by_fdr(res["graph"], res["p_matrix"], alpha)
    return graph_from_tigramite(graph, data.nodes, circles_are_undirected=True)


@algorithm(
    "lpcmci", family="time-series", output="lagged",
    profile=f"""LPCMCI (tigramite): latent PCMCI, the time-series analogue of FCI. Allows hidden
    common causes; returns a lagged PAG-like graph whose <-> edges mark latent confounding and whose
    circle marks are undecided. Use for time series when unmeasured drivers are plausible. Needs
    more data than PCMCI+ for the same power. {_TS_PROFILE_COST}""",
    defaults={"alpha": 0.01, "ci_test": "parcorr", "tau_max": None},
    data_types=("continuous", "discrete"), supports_background=True, time_series=True, max_p=30,
)
def run_lpcmci(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from tigramite.lpcmci import LPCMCI

    tau = _tau(data, params)
    lp = LPCMCI(dataframe=_dataframe(data), cond_ind_test=_ci_test(params["ci_test"], data.seed), verbosity=0)
    with quiet():
        res = lp.run_lpcmci(tau_min=0, tau_max=tau, pc_alpha=float(params["alpha"]),
                            link_assumptions=link_assumptions(data, 0, tau))
    return graph_from_tigramite(res["graph"], data.nodes)


@algorithm(
    "granger", family="time-series", output="lagged",
    profile="""Granger causality (multivariate, statsmodels VAR): fits one vector autoregression of order
    tau_max and keeps a link source(t-k) -> target(t) when its coefficient differs from zero (Wald
    t-test at alpha). Predictive, not structural: hidden common drivers and contemporaneous effects
    are not handled, and it presumes linear, stationary dynamics. Very fast (one least-squares
    fit); a baseline to compare PCMCI against.""",
    defaults={"alpha": 0.01, "tau_max": None},
    data_types=("continuous",), supports_background=True, time_series=True, max_p=100, assumes=("linear",),
)
def run_granger(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from statsmodels.tsa.api import VAR

    tau = _tau(data, params)
    with quiet():
        res = VAR(np.asarray(data.X, dtype=float)).fit(tau, trend="c")
    pv = np.asarray(res.pvalues)  # rows: const, L1.x1..L1.xp, L2.x1.., columns: equations (targets)
    p = len(data.nodes)
    alpha = float(params["alpha"])
    bg = data.background if data.background is not None and not data.background.is_empty() else None
    edges = [Edge(data.nodes[i], data.nodes[j], "directed", None, k)
             for k in range(1, tau + 1) for i in range(p) for j in range(p)
             if pv[1 + (k - 1) * p + i, j] < alpha
             and (bg is None or i == j or not bg.forbids(data.nodes[i], data.nodes[j]))]
    return CausalGraph(list(data.nodes), edges, "lagged")


@algorithm(
    "var_lingam", family="time-series", output="lagged",
    profile="""VAR-LiNGAM (causal-learn): fits a VAR, then DirectLiNGAM on its residuals, which
    identifies the contemporaneous causal order when noises are non-Gaussian; lagged effects are
    corrected for the instantaneous ones and pruned by adaptive lasso. Every edge is directed.
    Assumes linear, stationary dynamics with non-Gaussian noise and no hidden confounders; with
    Gaussian noise the contemporaneous directions are arbitrary. Cost: a VAR fit plus LiNGAM on p
    residual series.""",
    defaults={"tau_max": None, "w_threshold": 0.05},
    data_types=("continuous",), supports_background=True, time_series=True, max_p=50,
    assumes=("linear", "non-gaussian"), needs_n_above_p=True,
)
def run_var_lingam(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.FCMBased.lingam import DirectLiNGAM, VARLiNGAM

    tau = _tau(data, params)
    pk = None
    if data.background is not None and not data.background.is_empty():
        pk = data.background.forbidden_matrix(data.nodes)
    seed = data.seed % (2**32)
    model = VARLiNGAM(lags=tau, criterion=None, prune=True, random_state=seed,
                      lingam_model=DirectLiNGAM(random_state=seed, prior_knowledge=pk))
    with quiet():
        model.fit(np.asarray(data.X, dtype=float))
    thr = float(params.get("w_threshold", 0.05))
    edges = []
    p = len(data.nodes)
    bg = data.background if data.background is not None and not data.background.is_empty() else None
    for k, B in enumerate(model.adjacency_matrices_):  # B[i, j]: effect of j at t-k on i at t
        B = np.asarray(B)
        for i in range(p):
            for j in range(p):
                if k > 0 and i != j and bg is not None and bg.forbids(data.nodes[j], data.nodes[i]):
                    continue  # a forbidden direction holds at every lag
                if (k > 0 or i != j) and abs(B[i, j]) > thr:
                    edges.append(Edge(data.nodes[j], data.nodes[i], "directed", None, k))
    return CausalGraph(list(data.nodes), edges, "lagged")
