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
    if bic_lag is None:  # the VAR could not be fitted: the partial autocorrelations alone, and no screen
        reason = (f"the median over variables of the last significant partial autocorrelation ({pacf_lag}), capped at "
                  f"{cap}; the VAR order could not be chosen by BIC because the VAR could not be fitted "
                  f"({evidence['var_order_error']}: collinear or constant series), so its residuals were not screened")
        return tau, f"tau_max = {tau}: {reason}", evidence
    reason = (f"the larger of the VAR order chosen by BIC ({bic_lag}) and the median over variables of the last "
              f"significant partial autocorrelation ({pacf_lag}), capped at {cap}")
    if screened > tau:
        tau = screened
        reason = (f"tau_max = {tau}: the last lag at which residuals of the VAR({bic_lag}) still correlate across "
                  f"time (screened back to lag {reach}, Bonferroni at {SCREEN_ALPHA}), beyond {reason}")
    else:
        reason = f"tau_max = {tau}: {reason}; the residuals' cross-lag screen found nothing further back"
    return tau, reason, evidence


def on_grid(X: np.ndarray, time: np.ndarray | None) -> np.ndarray | None:
    """The rows of ``X`` (n, p) at their places on the time grid, with NaN rows for the steps that have no
    row, shape (last position + 1, p); None when the rows are consecutive steps (no gap).

    ``time``: each row's grid position (:class:`causalpilot.tools.profile.time_grid.TimeGrid`). Where a
    position does not increase (the seam between two blocks glued by the block bootstrap) the rows are
    taken as consecutive, as they are for a series without gaps."""
    if time is None or len(time) < 2:
        return None
    steps = np.diff(np.asarray(time, dtype=float))
    if np.all(steps == 1):
        return None
    pos = np.concatenate([[0], np.cumsum(np.where(steps >= 1, np.round(steps), 1))]).astype(int)
    G = np.full((int(pos[-1]) + 1, X.shape[1]), np.nan)
    G[pos] = X
    return G


def lag_windows(G: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """The lag windows of a grid with gaps that no gap touches: (W, t) with W[m, k] the values at t_m - k
    (shape (windows, lags + 1, p)) and t the windows' last grid positions."""
    n = len(G)
    if n <= lags:
        return np.empty((0, lags + 1, G.shape[1])), np.empty(0, dtype=int)
    W = np.stack([G[lags - k: n - k] for k in range(lags + 1)], axis=1)
    ok = ~np.isnan(W).any(axis=(1, 2))
    return W[ok], np.arange(lags, n)[ok]


def _ols_residuals(y: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients, residuals) of least squares of y (m,) or (m, q) on Z (m, k) plus an intercept."""
    A = np.column_stack([np.ones(len(Z)), Z])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    return beta, y - A @ beta


def choose_tau_max_on_grid(G: np.ndarray, cap: int = TAU_CAP) -> tuple[int, str, dict[str, Any]]:
    """:func:`choose_tau_max` for a series with gaps (``G`` from :func:`on_grid`): the same three readings,
    each fitted on the lag windows that no gap touches, so that a lag is a step of time, not a row.

    The VAR order minimises statsmodels' BIC (log det of the residual covariance + log(m)/m per free
    parameter) over orders 0 to cap fitted on the same windows; a partial autocorrelation at lag k
    is the last coefficient of the autoregression of order k; the cross-lag screen correlates VAR
    residuals at t and t - k over the pairs where both exist."""
    from scipy.stats import norm

    observed = int((~np.isnan(G).any(axis=1)).sum())
    p = G.shape[1]
    cap = int(max(1, min(cap, observed // 20)))
    W, _ = lag_windows(G, cap)
    while cap > 1 and len(W) < 10 + p * (p * cap + 1):
        cap -= 1
        W, _ = lag_windows(G, cap)
    m = len(W)
    evidence: dict[str, Any] = {"cap": cap, "lag_windows": m, "grid": "lags in steps of the time grid; windows that "
                                "touch a gap left out"}
    if m < 10 + p:
        return 1, (f"tau_max = 1: only {m} lag windows without a gap, too few to compare lag orders"), evidence
    y = W[:, 0, :]
    bics = []
    for L in range(0, cap + 1):
        _, r = _ols_residuals(y, W[:, 1:L + 1, :].reshape(m, L * p))
        sign, ld = np.linalg.slogdet(r.T @ r / m)
        bics.append((ld if sign > 0 else -np.inf) + np.log(m) / m * (L * p * p + p))
    bic_lag = int(np.argmin(bics))
    band = 1.96 / np.sqrt(m)
    lags = []
    for j in range(p):
        last = 0
        for k in range(1, cap + 1):
            beta, _ = _ols_residuals(W[:, 0, j], W[:, 1:k + 1, j])
            if abs(beta[-1]) > band:
                last = k
        lags.append(last)
    pacf_lag = int(np.median(lags)) if lags else 0
    tau = int(min(cap, max(1, pacf_lag, bic_lag)))
    reach = int(max(1, min(SCREEN_CAP, observed // 20, max(cap, SCREEN_BUDGET // max(p, 1)))))
    o = max(bic_lag, 1)
    Wo, t = lag_windows(G, o)
    R = np.full(G.shape, np.nan)
    R[t] = _ols_residuals(Wo[:, 0, :], Wo[:, 1:, :].reshape(len(Wo), o * p))[1]
    R = (R - np.nanmean(R, axis=0)) / np.where(np.nanstd(R, axis=0) > 0, np.nanstd(R, axis=0), 1.0)
    z = float(norm.isf(SCREEN_ALPHA / 2 / max(p * p * reach, 1)))
    screened = 0
    for k in range(1, reach + 1):
        a, b = R[k:], R[:-k]
        both = ~np.isnan(a).any(axis=1) & ~np.isnan(b).any(axis=1)
        if both.sum() > 10 and np.any(np.abs(a[both].T @ b[both] / both.sum()) * np.sqrt(both.sum()) > z):
            screened = k
    evidence.update({"var_order_bic": bic_lag, "pacf_last_significant_lag_per_variable": lags, "pacf_median": pacf_lag,
                     "cross_lag_screen": {"last_lag": screened, "looked_back": reach, "alpha": SCREEN_ALPHA}})
    reason = (f"the larger of the VAR order chosen by BIC ({bic_lag}) and the median over variables of the last "
              f"significant partial autocorrelation ({pacf_lag}), capped at {cap}, each fitted on the {m} lag windows "
              "that no gap in the time index touches")
    if screened > tau:
        tau = screened
        reason = f"tau_max = {tau}: the last lag at which VAR residuals still correlate across time, beyond {reason}"
    else:
        reason = f"tau_max = {tau}: {reason}; the residuals' cross-lag screen found nothing further back"
    return tau, reason, evidence


def choose_tau(X: np.ndarray, time: np.ndarray | None = None) -> tuple[int, str, dict[str, Any]]:
    """tau_max for the rows of X at their time positions: :func:`choose_tau_max_on_grid` when the time
    index has gaps, :func:`choose_tau_max` otherwise."""
    G = on_grid(X, time)
    return choose_tau_max(X) if G is None else choose_tau_max_on_grid(G)


def longest_regular_rows(data: DiscoveryInput) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The rows a method that needs consecutive steps runs on: all of them when the time index has no
    gap, else the longest stretch without one (with a note for the graph's parameters)."""
    if on_grid(data.X, data.time) is None:
        return np.asarray(data.X, dtype=float), None
    from causalpilot.tools.profile.time_grid import longest_stretch

    first, rows = longest_stretch(np.asarray(data.time, dtype=float))
    return (np.asarray(data.X, dtype=float)[first:first + rows],
            {"rows_used": f"the longest stretch without a gap in the time index: rows {first + 1} to {first + rows} "
                          f"({rows} of {len(data.X)})"})


# how each time-series method treats gaps in its time index (every one counts lags in steps of the grid)
MASKS_GAPS = ("pcmci", "pcmci_plus", "lpcmci", "granger")  # lag windows that touch a gap are left out
NEEDS_CONSECUTIVE = ("var_lingam",)  # runs on the longest stretch without a gap


def gap_handling(name: str, grid: dict[str, Any]) -> tuple[str, str] | None:
    """(choice, reason) for how ``name`` treats the gaps a time index has (``grid``: the evidence of the
    profile's 'time_grid' finding), or None when it is not a time-series method."""
    from causalpilot.tools.profile.time_grid import one

    stretch = grid["longest_regular_stretch"]
    unit, rows = grid["step"], grid["rows"]
    if name in MASKS_GAPS:
        return "lag windows that touch a gap left out", (
            f"the rows are placed on the regular grid of the time index (one step = {one(unit)}; {grid['missing_steps']} "
            f"steps without a row), so a lag of k is k steps of time, and every test uses the lag windows that no gap "
            f"touches; chosen over the longest stretch without a gap, which holds only {stretch['rows']} of the "
            f"{rows} rows")
    if name in NEEDS_CONSECUTIVE:
        return "longest stretch without a gap", (
            f"{name} fits a VAR on consecutive steps and cannot leave out the windows that touch a gap, so it runs on "
            f"the longest stretch without one: {stretch['rows']} of the {rows} rows, {stretch['from']} to "
            f"{stretch['to']} (a lag of k is k steps of {one(unit)})")
    return None


def _tau(data: DiscoveryInput, params: dict[str, Any]) -> int:
    tau = params.get("tau_max")
    if tau is None:
        tau = choose_tau(data.X, data.time)[0]
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
    """tigramite's DataFrame of the rows; with gaps in the time index, the rows on their time grid and the
    missing steps flagged, so that tigramite leaves out every lag window that touches a gap."""
    from tigramite import data_processing as pp

    X = np.asarray(data.X, dtype=float)
    G = on_grid(X, data.time)
    if G is None:
        return pp.DataFrame(X, var_names=list(data.nodes))
    flag = float(np.min(X)) - 1.0 - abs(float(np.min(X)))  # below every value: never a datum
    return pp.DataFrame(np.where(np.isnan(G), flag, G), var_names=list(data.nodes), missing_flag=flag)


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
    G = on_grid(np.asarray(data.X, dtype=float), data.time)
    if G is None:
        with quiet():
            res = VAR(np.asarray(data.X, dtype=float)).fit(tau, trend="c")
        pv = np.asarray(res.pvalues)  # rows: const, L1.x1..L1.xp, L2.x1.., columns: equations (targets)
    else:
        pv = _granger_pvalues_on_grid(G, tau)
    p = len(data.nodes)
    alpha = float(params["alpha"])
    bg = data.background if data.background is not None and not data.background.is_empty() else None
    edges = [Edge(data.nodes[i], data.nodes[j], "directed", None, k)
             for k in range(1, tau + 1) for i in range(p) for j in range(p)
             if pv[1 + (k - 1) * p + i, j] < alpha
             and (bg is None or i == j or not bg.forbids(data.nodes[i], data.nodes[j]))]
    return CausalGraph(list(data.nodes), edges, "lagged")


def _granger_pvalues_on_grid(G: np.ndarray, tau: int) -> np.ndarray:
    """The VAR's coefficient p-values (rows: const, L1.x1..L1.xp, L2.x1.., columns: targets) fitted by
    least squares on the lag windows that no gap touches (t tests, as statsmodels' VAR reports them)."""
    from scipy.stats import t as student

    W, _ = lag_windows(G, tau)
    m, p = len(W), G.shape[1]
    A = np.column_stack([np.ones(m), W[:, 1:, :].reshape(m, tau * p)])
    if m <= A.shape[1] + 1:
        raise InputError(f"Only {m} lag windows of the series avoid its time gaps, too few for a VAR of order {tau}.")
    beta, *_ = np.linalg.lstsq(A, W[:, 0, :], rcond=None)
    resid = W[:, 0, :] - A @ beta
    df = m - A.shape[1]
    cov = np.linalg.pinv(A.T @ A)
    se = np.sqrt(np.outer(np.diag(cov), (resid ** 2).sum(axis=0) / df))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2 * student.sf(np.abs(beta / se), df)


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
    X, used = longest_regular_rows(data)  # the VAR needs consecutive steps
    if len(X) <= 3 * (tau + 1) + len(data.nodes):
        raise InputError(f"VAR-LiNGAM needs consecutive time steps, and the longest stretch without a gap in the time "
                         f"index has {len(X)} rows, too few for tau_max = {tau} with {len(data.nodes)} variables.")
    with quiet():
        model.fit(X)
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
    graph = CausalGraph(list(data.nodes), edges, "lagged")
    graph.parameters.update(used or {})
    return graph
