"""The Python API: :func:`analyse` and :func:`discover` for data scientists (``docs/CONTRACT.md``).

The CLI is a thin layer over the same calls: ``causalpilot analyse data.csv --treatment T --outcome Y``
and ``causalpilot.analyse(df, treatment="T", outcome="Y")`` run the same loop
(:func:`causalpilot.agent.loop.run_analysis`) and, for the same data and seed, give the same graph
and effects. Bad input raises :class:`causalpilot.InputError` (a ``ValueError``) carrying the one
sentence the CLI prints.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from causalpilot.agent.loop import AnalysisOptions, RunResult, run_analysis
from causalpilot.agent.outputs import prepare_out_dir, write_atomic
from causalpilot.tools.budget import DEFAULT_BUDGET_S
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.loading import Dataset, load_frame, load_table

__all__ = ["AnalysisResult", "analyse", "discover", "effects_frame"]

# one row per estimate; the columns the table always has, in this order
EFFECT_COLUMNS = ("treatment", "outcome", "level", "reference_level", "lag", "identified", "estimand", "method",
                  "estimate", "ci_low", "ci_high", "estimate_min", "estimate_max", "adjustment_set",
                  "refutations_passed", "refutations_run")


@dataclass
class AnalysisResult:
    """What :func:`analyse` returns.

    Attributes:
        graph: the final graph (the ``graph.json`` of the contract) as a :class:`CausalGraph`, with
            ``.nodes``, ``.edges``, ``.graph_type``, ``.to_networkx()``, ``.to_dot()``, ``.to_json()``.
        effects: a pandas DataFrame, one row per estimate in ``effects.json`` (see :func:`effects_frame`).
        decisions: every decision of ``run.json`` (dicts with ``step``, ``choice``, ``reason``,
            ``evidence``, ``by``), in the order they were made.
        run_info: the whole ``run.json`` as a dict.
        out: the directory the files were written to, or None when ``out`` was not given.
    """

    _run: RunResult

    @property
    def graph(self) -> CausalGraph:
        return self._run.graph

    @property
    def effects(self):
        return effects_frame(self._run.effects)

    @property
    def effects_list(self) -> list[dict]:
        """The effects exactly as written to ``effects.json``."""
        return self._run.effects

    @property
    def decisions(self) -> list[dict]:
        return list(self._run.run_info["decisions"])

    @property
    def run_info(self) -> dict[str, Any]:
        return self._run.run_info

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def out(self) -> Path | None:
        return self._run.out

    def report_html(self) -> str:
        """The self-contained HTML report (figures inline), as a string."""
        return _text(self._run.artifacts["report.html"])

    def report_markdown(self) -> str:
        """The Markdown report, as a string."""
        return _text(self._run.artifacts["report.md"])

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the contract's files (graph.json, effects.json, report.md, report.html, graph.png,
        run.json, and transcript.json after an LLM run) into ``directory``, created if need be.

        Returns the directory's resolved path. Raises :class:`InputError` if it cannot be written."""
        out = prepare_out_dir(directory)
        for name, data in self._run.artifacts.items():
            write_atomic(out, name, data)
        return out

    def _repr_html_(self) -> str:  # Jupyter shows the report, isolated in a frame so its styles stay its own
        doc = html.escape(self.report_html(), quote=True)
        return (f'<iframe srcdoc="{doc}" style="width:100%;height:720px;border:1px solid #ddd" '
                'title="causalpilot report"></iframe>')

    def __repr__(self) -> str:
        g = self.graph
        return (f"<AnalysisResult {self.run_id}: {g.graph_type} by {g.algorithm or '?'} over {len(g.nodes)} "
                f"variables, {len(g.edges)} edges, {len(self._run.effects)} effect(s)>")


def _text(data: str | bytes) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def _dataset(data: Any, stream: bool | None = None, sample_rows: int | None = None, seed: int = 0) -> Dataset:
    """A :class:`Dataset` from a DataFrame or a file path (streamed as ``load_table`` decides, its sample
    drawn with the run's ``seed``); anything else is an :class:`InputError`."""
    import pandas as pd

    from causalpilot.agent.loop import derive_seed

    if isinstance(data, pd.DataFrame):
        if stream:
            raise InputError("stream=True reads a Parquet or CSV file in batches; a DataFrame is already in memory.")
        return load_frame(data)
    if isinstance(data, (str, os.PathLike)):
        if sample_rows is not None and (not isinstance(sample_rows, int) or isinstance(sample_rows, bool)):
            raise InputError(f"sample_rows must be a whole number of rows, got {sample_rows!r}.")
        return load_table(data, stream=stream, sample_rows=sample_rows, seed=derive_seed(int(seed), "sample"))
    raise InputError(f"data must be a pandas DataFrame or the path of a CSV/TSV/Parquet/xlsx file, "
                     f"not {type(data).__name__}.")


def _budget(value: Any) -> float | None:
    """The ``time_budget`` option in seconds (None: no limit)."""
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"time_budget must be a number of seconds (0 for no limit), got {value!r}.")
    return float(value) or None


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    if value is not None and value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}.")


def analyse(data: Any, treatment: str | None = None, outcome: str | None = None, question: str | None = None,
            background: str | os.PathLike | Mapping[str, Any] | None = None, time_series: bool = False,
            time_index: str | None = None, domain_index: str | None = None, algorithm: str | None = None,
            seed: int = 0, bootstrap: int | None = None, jobs: int | None = None, planner: str | None = None,
            out: str | os.PathLike | None = None, memory: str | os.PathLike | bool | None = None,
            quiet: bool = True, scheduler: Any = None, stream: bool | None = None, sample_rows: int | None = None,
            **extra: Any) -> AnalysisResult:
    """Profile, plan, discover (with bootstrap confidence), estimate effects and write the report.

    Args:
        data: a pandas DataFrame (rows = samples, columns = variables), or the path of a CSV, TSV,
            Parquet or xlsx file.
        treatment, outcome: column names of the effect to estimate (both or neither).
        question: the question in plain words ("does smoking raise heart_risk?"), read for the pair.
        background: knowledge as a dict ``{"required": [[a, b]], "forbidden": [[a, b]], "tiers": [[...]]}``
            or the path of a JSON/YAML file holding it.
        time_series, time_index: rows are consecutive time steps / the column that orders them.
        domain_index: the column naming each row's domain or regime.
        algorithm: force one discovery algorithm (``causalpilot algorithms`` lists them).
        seed: seeds every random step; same data and seed, same result.
        bootstrap: resamples for edge confidence (0 = none; None = the planner's choice).
        jobs: parallel workers for the resamples (-1 = all cores; None = all cores once a run is slow).
        planner: ``"rules"`` (offline, deterministic) or ``"llm"``; default ``"llm"`` when
            ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set, else ``"rules"``.
        out: a directory to write the contract's files into; None writes nothing (use ``.save``).
        memory: the memory database file; None = the default store (as the CLI); False = do not record.
        quiet: no progress lines on stderr (default True; False prints what the CLI prints).
        scheduler: a Dask cluster to run the bootstrap resamples, portfolio members and refuters'
            re-estimates on: its scheduler address (``"tcp://host:8786"``), or a ``distributed.Client``
            or cluster object (``LocalCluster``) of yours, which is left open. The data are scattered to
            the workers once; the results are identical to a local run with the same seed.
        stream: read a Parquet or CSV file in batches instead of into memory (True), never (False), or
            when its table would take more than a quarter of the memory available (None). A streamed
            file's means and covariances come from one pass over all its rows (Fisher-z PC, the
            Gaussian BIC searches, linear effects); the profile and other methods run on its sample.
        sample_rows: the size of a streamed file's seeded sample (default 100000).
        extra: further options of ``causalpilot analyse``: ``cate_by`` (list of columns), ``what_if``
            ("X=1.5"), ``share_data`` (rows the LLM may see: an int, default 5, 0 for none; True
            means 50), ``no_order`` (bool: do not assume that the outcome does
            not cause the treatment), ``no_domain`` (bool: no column is a domain index),
            ``time_budget`` (seconds the planner's bootstrap and the refuters' re-estimates must fit in,
            default 300; 0 or None = no limit).

    Returns:
        :class:`AnalysisResult`.

    Raises:
        InputError: unreadable data, unknown columns or options, an effect request that cannot be
            met, or a scheduler that cannot be reached, with one sentence naming the problem.
    """
    from causalpilot.agent.cli import default_planner

    unknown = sorted(set(extra) - {"cate_by", "what_if", "share_data", "no_order", "no_domain", "time_budget"})
    if unknown:
        raise InputError(f"analyse() got an unknown option '{unknown[0]}'.")
    _check_choice("planner", planner, ("rules", "llm"))
    share_data = extra.get("share_data")
    if share_data is not None and not isinstance(share_data, (bool, int)):
        raise InputError(f"share_data must be a number of rows (or True/False), got {share_data!r}.")
    ds = _dataset(data, stream, sample_rows, seed)
    cate_by = extra.get("cate_by")
    if isinstance(cate_by, str):
        cate_by = [c.strip() for c in cate_by.split(",") if c.strip()]
    opts = AnalysisOptions(
        data=ds.path, out=None if out is None else str(out), seed=int(seed), planner=planner or default_planner(),
        treatment=treatment, outcome=outcome, time_index=time_index, time_series=bool(time_series),
        domain_index=domain_index, no_domain=bool(extra.get("no_domain", False)), question=question,
        background=background, algorithm=algorithm,
        bootstrap=_check_count("bootstrap", bootstrap), n_jobs=_check_jobs(jobs), quiet=quiet,
        memory_path=memory, command="analyse", share_data=share_data,
        cate_by=cate_by, what_if=extra.get("what_if"), no_order=bool(extra.get("no_order", False)),
        time_budget=_budget(extra.get("time_budget", DEFAULT_BUDGET_S)),
        scheduler=scheduler)
    return AnalysisResult(run_analysis(opts, dataset=ds, write=out is not None))


def discover(data: Any, algorithm: str, *, seed: int = 0, bootstrap: int = 0, background: Any = None,
             time_series: bool = False, time_index: str | None = None, domain_index: str | None = None,
             no_domain: bool = False, **params: Any) -> CausalGraph:
    """Run one discovery algorithm exactly as asked, with no planning: library defaults for every
    parameter not given (``alpha``, ``indep_test``, ``depth``, ... as ``causalpilot algorithms --json``
    lists for each method).

    Args:
        data: a pandas DataFrame or a data file path (as for :func:`analyse`).
        algorithm: the algorithm's registry name, e.g. ``"pc"``, ``"fci"``, ``"ges"``, ``"boss"``.
        seed, bootstrap, background, time_series, time_index, domain_index: as for :func:`analyse`.
        no_domain: no column is a domain index (as ``no_domain`` of :func:`analyse`).
        params: the algorithm's parameters.

    Returns:
        the :class:`CausalGraph` (edge ``confidence`` set when ``bootstrap`` > 0).

    Raises:
        InputError: unknown algorithm or parameter, or unusable data.
    """
    from causalpilot.agent.planners.fixed import FixedPlanner
    from causalpilot.tools.registry import get_algorithm

    spec = get_algorithm(algorithm)
    if "indep_test" in params and "ci_test" in spec.defaults:  # time-series methods name it ci_test
        params["ci_test"] = params.pop("indep_test")
    unknown = [k for k in params if k not in spec.defaults]
    if unknown:
        raise InputError(f"Algorithm '{spec.name}' takes no parameter '{unknown[0]}' "
                         f"(it takes: {', '.join(sorted(spec.defaults)) or 'none'}).")
    alpha = params.get("alpha")
    if alpha is not None and not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}.")
    ds = _dataset(data, seed=seed)
    opts = AnalysisOptions(
        data=ds.path, seed=int(seed), planner="fixed", time_index=time_index, time_series=bool(time_series),
        domain_index=domain_index, no_domain=bool(no_domain), background=background, algorithm=spec.name,
        params={k: v for k, v in params.items() if v is not None}, bootstrap=_check_count("bootstrap", bootstrap),
        quiet=True, memory_path=False, command="discover")
    return run_analysis(opts, planner=FixedPlanner(), dataset=ds, write=False, report=False).graph


def effects_frame(effects: list[dict]):
    """The effects of ``effects.json`` as a pandas DataFrame, one row per estimate.

    An effect with per-level contrasts (an unordered categorical treatment) gives one row per level
    (``level``, ``reference_level``); a time-series effect one row per lag (``lag``). ``estimate`` is
    NaN where the graph leaves the effect unidentified; ``estimate_min``/``estimate_max`` then give
    the range over the graphs consistent with it. ``refutations_passed``/``refutations_run`` count
    the refutation checks.
    """
    import numpy as np
    import pandas as pd

    rows = []
    for eff in effects:
        base = {"treatment": eff.get("treatment"), "outcome": eff.get("outcome"),
                "estimand": eff.get("estimand"), "method": eff.get("method")}
        refs = eff.get("refutations") or []
        base["refutations_passed"] = sum(1 for r in refs if r.get("passed"))
        base["refutations_run"] = len(refs)
        parts = eff.get("contrasts") or eff.get("lags") or [eff]
        for part in parts:
            row = dict(base)
            row["level"] = part.get("level") if "contrasts" in eff else None
            row["reference_level"] = eff.get("reference_level")
            row["lag"] = part.get("lag") if "lags" in eff else None
            row["identified"] = part.get("identified", eff.get("identified"))
            for k in ("estimate", "ci_low", "ci_high"):
                v = part.get(k)
                row[k] = np.nan if v is None else float(v)
            rng = part.get("estimate_range") or ([part["estimate"]] * 2 if part.get("estimate") is not None else None)
            row["estimate_min"], row["estimate_max"] = (np.nan, np.nan) if not rng else (float(rng[0]), float(rng[1]))
            adj = part.get("adjustment_set")
            row["adjustment_set"] = None if adj is None else list(adj)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def _check_jobs(jobs: int | None) -> int | None:
    if jobs is not None and (not isinstance(jobs, int) or jobs == 0 or jobs < -1):
        raise InputError("jobs must be a positive number of workers, or -1 for all cores.")
    return jobs


def _check_count(name: str, b: int | None) -> int | None:
    if b is not None and (not isinstance(b, int) or not 0 <= b <= 10_000):
        raise InputError(f"{name} must be a whole number between 0 and 10000, got {b!r}.")
    return b
