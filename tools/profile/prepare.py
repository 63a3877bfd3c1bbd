"""Profile a dataset the way an expert would before choosing a method, and prepare it for analysis.

The steps, each in its own module: column kinds (:mod:`.columns`), reading values as numbers
(:mod:`.parsing`), the time index (:mod:`.time_series`, :mod:`.dates`), the domain index
(:mod:`.domains`), missing values (:mod:`.missing`), near-duplicate columns (:mod:`.collinearity`)
and the statistical checks (:mod:`.checks`).
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from causalpilot.tools.errors import InputError
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile.checks import discrete_design, gaussianity_check, linearity_check
from causalpilot.tools.profile.collinearity import collinearity
from causalpilot.tools.profile.columns import choose_variables, data_type_finding, profile_columns, short
from causalpilot.tools.profile.dates import parse_times
from causalpilot.tools.profile.dependence import functional_dependence
from causalpilot.tools.profile.domains import domain_codes, domain_evidence, heterogeneity_finding, infer_domain_index
from causalpilot.tools.profile.measurement import measurement_error_check
from causalpilot.tools.profile.missing import handle_missing, infinite_to_missing
from causalpilot.tools.profile.model import Finding, PreparedData, Profile
from causalpilot.tools.profile.parsing import encode_variables
from causalpilot.tools.profile.time_grid import time_grid, time_grid_finding
from causalpilot.tools.profile.stationarity import adf_pvalue as _adf_after, calendar_columns, difference, stationarity_check
from causalpilot.tools.profile.time_series import read_date_column, time_series_check
from causalpilot.tools.threads import limited


# Above this many rows the linearity and Gaussianity checks run on a seeded subsample of it: their cost grows
# with the rows, their power hardly matters beyond it (what they steer is the choice of method, not a claim)
CHECK_ROWS = 20_000
CHECK_ROWS_POWER = ("at this size, after the correction for 100 tests, RESET finds with 80% power a nonlinear part "
                    "explaining 0.13% of a relation's residual variance, and the normality test a residual skewness "
                    "of 0.08")
SKIPPABLE_CHECKS = ("gaussianity", "measurement_error")


@limited(1)  # small dense algebra on many columns: extra BLAS threads only contend (tools.threads)
def profile_and_prepare(
    ds: Dataset,
    *,
    seed: int = 0,
    time_index: str | None = None,
    time_series: bool = False,
    domain_index: str | None = None,
    keep: list[str] | None = None,
    no_domain: bool = False,
    skip: dict[str, str] | None = None,
) -> PreparedData:
    """Classify columns, repair what can be repaired (recorded), and run the statistical checks.

    ``ds``: the loaded table (n rows, any columns). ``time_index`` / ``domain_index`` name the columns
    that order the rows in time / name each row's domain (found by themselves when not given: the only
    date column whose order shows lagged dependence; a discrete column named like a domain, or one
    whose rows form blocks and that behaves like a domain index, see
    :func:`~causalpilot.tools.profile.domains.domain_evidence`). ``no_domain``: no column is taken as
    a domain index. ``keep`` (treatment, outcome) must stay analysis variables. ``seed`` seeds the
    imputation, the choice of pairs for the linearity check and, above :data:`CHECK_ROWS` rows, the
    rows the linearity and Gaussianity checks are computed on (stated in their evidence and summary).
    ``skip``: checks not to run, each with the reason their finding states (of
    :data:`SKIPPABLE_CHECKS`: a caller that reads no planner's choice needs neither).

    Returns the numeric analysis variables (rows in time order when there is a time index, without
    missing values) with their :class:`Profile`: findings sample_size, data_type, missingness,
    collinearity, linearity, gaussianity, time_series, measurement_error and heterogeneity.

    Raises:
        InputError: a named column is not in the table, a ``keep`` column cannot be analysed, a domain
            index named together with ``no_domain``, fewer than two usable columns, or fewer than 10
            rows left after handling missing values.
    """
    skip = dict(skip or {})
    if set(skip) - set(SKIPPABLE_CHECKS):
        raise ValueError(f"only {SKIPPABLE_CHECKS} can be skipped, not {sorted(set(skip) - set(SKIPPABLE_CHECKS))}")
    df = ds.frame.copy()
    repairs: list[dict] = list(ds.repairs)
    keep = list(keep or [])

    if no_domain and domain_index is not None:
        raise InputError(f"--domain-index {domain_index} and --no-domain contradict each other; give one of them.")
    for col in [time_index, domain_index, *keep]:
        if col is not None and col not in df.columns:
            where = f"data file '{ds.path}'" if ds.path else "the DataFrame"
            raise InputError(f"Column '{col}' is not in {where}{did_you_mean(col, list(df.columns))}.")

    repairs += infinite_to_missing(df)
    columns = profile_columns(df)
    by_name = {c.name: c for c in columns}

    # the time and domain indices are roles, not variables
    date_stamp: tuple[str, str] | None = None  # a date column that is not used as a time index, and why
    time_order: np.ndarray | None = None  # row order of the only date column, once parsed
    if time_index is None and not time_series:
        reading = read_date_column(df, columns)
        if reading is not None:
            time_order = reading.order
            if reading.ordered:
                time_index = reading.column
                repairs.append({"column": time_index, "repair": "time_index",
                                "reason": f"the only datetime column; ordered by it, {reading.why}: it is used as the time index"})
            else:
                by_name[reading.column].evidence += f"; ordered by them, {reading.why}"
                date_stamp = (reading.column, reading.why)
    found_by = "user" if domain_index is not None else None
    proposals = []  # columns the data propose as a domain index
    if domain_index is None and not no_domain:
        found = infer_domain_index(columns, keep)
        if found:
            domain_index, found_by = found[0], "name"
            repairs.append(found[1])
        elif time_index is None and not time_series:  # in a time series any slow discrete signal forms blocks
            proposals = domain_evidence(df, columns, keep)
            strong = next((ev for ev in proposals if ev.strong), None)
            if strong is not None:
                domain_index, found_by = strong.column, "data"
                repairs.append({"column": strong.column, "repair": "domain_index", "reason": (
                    f"{strong.reason}: used as a domain/regime index, not as a variable (--no-domain keeps it a "
                    "variable)")})

    time_series_flag = bool(time_series or time_index)
    if time_index is not None:
        if time_order is None:
            time_order = np.argsort(parse_times(df[time_index])[0].to_numpy()
                                    if by_name[time_index].kind == "datetime" else df[time_index].to_numpy(),
                                    kind="stable")
        df = df.iloc[time_order].reset_index(drop=True)
    time_series_obj = df[time_index].copy() if time_index is not None else None
    domain_obj = df[domain_index].copy() if domain_index is not None else None

    variables, set_aside = choose_variables(columns, (time_index, domain_index), keep, date_stamp)
    repairs += set_aside
    if len(variables) < 2:
        raise InputError(
            f"Data file '{ds.path}' has {len(variables)} usable column(s) after setting aside constant, empty, "
            "identifier and text columns; causal analysis needs at least two."
        )

    work, coded = encode_variables(df, {c: by_name[c].kind for c in variables})
    repairs += coded

    complete_rows = ~work.isna().any(axis=1)  # distribution checks use these: imputed values distort them
    before = work
    work, missing_repair = handle_missing(work, {c: by_name[c].kind for c in variables}, time_series_flag, seed)
    imputed = bool(missing_repair) and missing_repair["repair"] == "imputation"
    with_gaps = before.loc[work.index].reset_index(drop=True) if imputed else None  # for test-wise deletion
    if missing_repair:
        repairs.append(missing_repair)
    if len(work) < 10:
        raise InputError(f"Data file '{ds.path}' has fewer than 10 complete rows after handling missing values.")
    if time_series_obj is not None:
        time_series_obj = time_series_obj.loc[work.index].reset_index(drop=True)
    if domain_obj is not None:
        domain_obj = domain_obj.loc[work.index].reset_index(drop=True)
    complete_rows = complete_rows.loc[work.index].to_numpy()
    work = work.reset_index(drop=True)

    # exact functions of other columns (sums, copies, relabellings) are set aside for discovery, with the relation
    in_table = list(variables)
    rows_for = complete_rows if complete_rows.sum() >= 20 else np.ones(len(work), dtype=bool)
    dependence, set_aside = functional_dependence(work.loc[rows_for].reset_index(drop=True),
                                                  {c: by_name[c].kind for c in variables}, keep)
    for r in set_aside:
        repairs.append(r)
        by_name[r["column"]].used = False
    work = work.drop(columns=[r["column"] for r in set_aside])
    variables = list(work.columns)
    if len(variables) < 2:
        raise InputError(
            f"Data file '{ds.path}' has one usable variable ({variables[0]}) once "
            + "; ".join(f"{r['column']} is set aside ({r['relation']})" for r in set_aside)
            + ": with a variable determined by another there is nothing left whose causes the data could show, "
            "and causal analysis needs at least two variables.")

    # a time series: calendar columns set aside, nonstationary series differenced (tools.profile.stationarity)
    cont = [c for c in variables if by_name[c].kind == "continuous"]
    calendar = calendar_columns(work, keep)
    ts_finding = time_series_check(work.drop(columns=list(calendar)), time_series_flag, time_index,
                                   [c for c in cont if c not in calendar])
    grid = None
    if time_series_obj is not None:
        times = (parse_times(time_series_obj)[0] if by_name[time_index].kind == "datetime"
                 else pd.to_numeric(time_series_obj, errors="coerce"))
        grid = time_grid(times) if times.notna().all() else None
    stationarity = None
    grid_as_given = grid  # the time_grid finding describes the index as the user gave it, before any differencing
    if ts_finding.value:
        if len(calendar) <= len(variables) - 2:
            for c, why in calendar.items():
                repairs.append({"column": c, "repair": "calendar", "reason": (
                    f"a calendar column, not a causal variable: it {why}; a deterministic function of time has no "
                    "causes among the variables, so it is set aside (name it with --treatment or --outcome to keep it)")})
                by_name[c].used = False
            work = work.drop(columns=list(calendar))
            variables = list(work.columns)
            cont = [c for c in cont if c not in calendar]
        stationarity = stationarity_check(work, cont)
        if stationarity.value:
            positions = grid.positions if grid is not None and grid.on_grid else None
            work, kept = difference(work, stationarity.value, positions)
            after = {c: _adf_after(work[c]) for c in stationarity.value}
            stationarity.evidence["adf_p_after_differencing"] = after
            stationarity.summary += ("; analysed as their first differences (the change per step), so the graph and "
                                     "any effect involving them are about changes")
            for c in stationarity.value:
                ev = stationarity.evidence["columns"][c]
                repairs.append({"column": c, "repair": "differenced", "reason": (
                    f"not stationary (ADF p = {ev['adf_p']:.2g}: a unit root not rejected; KPSS p = {ev['kpss_p']:.2g}: "
                    "stationarity rejected); time-series discovery assumes stationarity, so it is analysed as its "
                    "change per step (first difference; ADF p after differencing "
                    f"{after[c]:.2g}): edges and effects involving {c} are about its changes")})
            rows_kept = int(kept.sum())
            complete_rows = complete_rows[kept]
            if time_series_obj is not None:
                time_series_obj = time_series_obj.loc[kept].reset_index(drop=True)
                times = times.loc[kept].reset_index(drop=True)
                grid = time_grid(times) if times.notna().all() else None
            if domain_obj is not None:
                domain_obj = domain_obj.loc[kept].reset_index(drop=True)
            if with_gaps is not None:  # a missing value's neighbours lose their difference too
                with_gaps = with_gaps.drop(columns=[c for c in calendar if c in with_gaps.columns])
                with_gaps = with_gaps.assign(**{c: with_gaps[c].diff() for c in stationarity.value})
                with_gaps = with_gaps.loc[kept].reset_index(drop=True)
            stationarity.evidence["rows_after_differencing"] = rows_kept

    findings: dict[str, Finding] = {}
    findings["sample_size"] = Finding("sample_size", len(work), {"n": len(work), "p": len(variables)},
                                      f"{len(work)} rows and {len(variables)} analysis variables")
    findings["data_type"] = data_type_finding([by_name[c] for c in variables])
    findings["missingness"] = Finding(
        "missingness", round(float(df[in_table].isna().mean().mean()), 4),
        {c: by_name[c].missing_fraction for c in in_table if by_name[c].missing_fraction > 0},
        "no missing values" if not missing_repair else missing_repair["reason"],
    )
    findings["functional_dependence"] = dependence
    findings["collinearity"] = collinearity(work)

    rng = np.random.default_rng(seed)
    # linearity and Gaussianity are judged on the rows that were complete before imputation (when there
    # are enough of them): filled-in values pile up at one value or along a regression line and would
    # make Gaussian noise look non-Gaussian, steering the planner to the wrong family
    rows = np.arange(len(work))
    if missing_repair and missing_repair["repair"] == "imputation" and complete_rows.sum() >= 50:
        rows = np.flatnonzero(complete_rows)
    which = f"{len(rows)} rows complete before imputation" if len(rows) < len(work) else None
    subsampled = len(rows) > CHECK_ROWS
    if subsampled:  # the tests' power allows it (CHECK_ROWS); the draw has its own stream
        rows = np.sort(np.random.default_rng([seed, 0xC4EC]).choice(rows, CHECK_ROWS, replace=False))
        which = f"a seeded subsample of {CHECK_ROWS} of the {which or f'{len(work)} rows'} ({CHECK_ROWS_POWER})"
    checked = work.iloc[rows][cont].reset_index(drop=True)
    groups = None if domain_obj is None else domain_codes(domain_obj)[rows]
    disc = [c for c in variables if by_name[c].kind in ("binary", "discrete", "categorical")]
    covariates = discrete_design(work.iloc[rows], disc,
                                 {c for c in disc if by_name[c].kind == "categorical" or by_name[c].n_unique > 5})
    findings["linearity"] = linearity_check(checked, rng, groups=groups, covariates=covariates) if len(cont) >= 2 else Finding(
        "linearity", None, {}, "not tested: fewer than two continuous variables")
    findings["gaussianity"] = (_skipped("gaussianity", skip) if "gaussianity" in skip else
                               gaussianity_check(checked, groups) if len(cont) >= 2 else
                               Finding("gaussianity", None, {}, "not tested: fewer than two continuous variables"))
    if which and len(cont) >= 2:
        for name in ("linearity", "gaussianity"):
            if findings[name].value is not None:
                findings[name].evidence["rows_checked"] = which
                if subsampled:
                    findings[name].summary += f" (on a seeded subsample of {CHECK_ROWS} rows)"
    findings["time_series"] = ts_finding  # read before differencing: the levels' dependence makes the series
    if stationarity is not None:
        findings["stationarity"] = stationarity
    if time_series_obj is not None:
        findings["time_grid"] = time_grid_finding(grid_as_given, time_index)
        if grid is not None and not grid.on_grid:
            grid = None
    findings["measurement_error"] = (_skipped("measurement_error", skip) if "measurement_error" in skip else
                                     _measurement_error(work, findings, time_series_flag or domain_obj is not None,
                                                        len(cont) == len(variables)))
    findings["heterogeneity"] = heterogeneity_finding(work, domain_obj, domain_index, found_by, proposals, no_domain)

    profile = Profile(
        n_rows=len(work), n_columns=int(ds.frame.shape[1]), columns=columns, findings=findings, repairs=repairs,
        variables=variables, time_index=time_index, domain_index=domain_index,
    )
    return PreparedData(frame=work, profile=profile, domain=domain_obj, time=time_series_obj,
                        grid=None if grid is None else grid.positions,
                        with_gaps=None if with_gaps is None else with_gaps[list(work.columns)])


def _skipped(name: str, skip: dict[str, str]) -> Finding:
    """The finding of a check the caller did not want run, with the caller's reason."""
    return Finding(name, None, {"skipped": True}, f"not run: {skip[name]}")


def _measurement_error(work, findings: dict[str, Finding], context: bool, all_continuous: bool) -> Finding:
    """The measurement-error check (:mod:`.measurement`) where its model holds: continuous,
    linear-Gaussian data without a time or domain index; otherwise a finding saying why not."""
    if context or not all_continuous or findings["linearity"].value != "linear" \
            or findings["gaussianity"].value != "gaussian":
        return Finding("measurement_error", None, {},
                       "not tested: the check takes continuous linear-Gaussian data without a time or domain index")
    return measurement_error_check(work.to_numpy(dtype=float), list(work.columns))


def did_you_mean(name: str, columns: list[str]) -> str:
    """The end of an 'unknown column' sentence: up to three close names (difflib), else the columns."""
    close = difflib.get_close_matches(name, columns, n=3, cutoff=0.6)
    if close:
        return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    return f" (its columns are: {short(shown) if len(shown) > 300 else shown})"
