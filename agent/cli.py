"""The `causalpilot` command line (also `python -m causalpilot`), as fixed by docs/CONTRACT.md.

Exit codes: 0 done; 2 bad input or usage (one sentence on stderr, no traceback); 1 internal error
(traceback only with --debug); 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any, Optional

import typer

def _exception_classes(name: str) -> tuple[type, ...]:
    """The click exception class ``name`` from click itself and from typer's vendored copy, if any.

    typer >= 0.2x vendors click (typer._click) and raises its own classes; older typer raises click's.
    """
    found: list[type] = []
    for modname in ("click.exceptions", "typer._click.exceptions", "typer.exceptions"):
        try:
            mod = __import__(modname, fromlist=[name])
        except ImportError:
            continue
        cls = getattr(mod, name, None)
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return tuple(found)


_NO_ARGS = _exception_classes("NoArgsIsHelpError")
_USAGE = _exception_classes("UsageError")
_ABORT = _exception_classes("Abort")
_CLICK = _exception_classes("ClickException")

from causalpilot.tools.errors import InputError

app = typer.Typer(
    name="causalpilot", add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="An autonomous causal analysis agent: hand it a CSV, get a causal graph, effects and a report.",
)
memory_app = typer.Typer(help="The keyed store of past runs and graphs.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(memory_app, name="memory", short_help="The keyed store of past runs and graphs.")


def _print_version(value: bool) -> None:
    if value:
        from causalpilot import __version__

        print(f"causalpilot {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                               help="Print the version and exit.")) -> None:
    pass

# options shared by analyse and discover -------------------------------------------------------
OUT = typer.Option(None, "--out", help="Output directory (default ./causalpilot-out/<run-id>).")
SEED = typer.Option(0, "--seed", help="Seed for every random step; same seed, same data, same result.")
QUIET = typer.Option(False, "--quiet", "-q", help="Print only the output directory.")
DEBUG = typer.Option(False, "--debug", help="Show a traceback on internal errors.")
MEMORY = typer.Option(None, "--memory", help="Memory database file (default: $CAUSALPILOT_HOME or the user data dir).")
JOBS = typer.Option(None, "--jobs", "-j", help="Parallel workers for bootstrap resamples (-1: all cores; default: "
                    "all cores once one run of the algorithm takes 5 s or more, else 1). Results do not depend on it.")
TIME_INDEX = typer.Option(None, "--time-index", help="Column holding time; rows are ordered by it.")
TIME_SERIES = typer.Option(False, "--time-series", help="Treat rows as consecutive time steps.")
DOMAIN_INDEX = typer.Option(None, "--domain-index", help="Column naming the domain/regime of each row.")
NO_DOMAIN = typer.Option(False, "--no-domain", help="No column is a domain index (not one named like it, nor one the "
                         "data propose); every column stays a variable.")
BACKGROUND = typer.Option(None, "--background", help="Knowledge file (JSON/YAML): required, forbidden edges, tiers.")
DATA_HELP = ("Data file: CSV or TSV (also .csv.gz, .bz2, .xz), Parquet (a file, or a folder of parts), or a "
             "spreadsheet (.xlsx, .xls, .ods: its first sheet).")
TIME_BUDGET = typer.Option(300.0, "--time-budget", help="Seconds the repeated steps must fit in: the bootstrap "
                           "(unless --bootstrap is given) and the refuters' re-estimates; fewer are run and the report "
                           "says so. 0 = no limit.")
BOOTSTRAP = typer.Option(None, "--bootstrap", "-B", help="Bootstrap resamples for edge confidence (0 = none).")
SHARE_DATA = typer.Option(None, "--share-data", help="Data rows the LLM may see, a seeded random sample (default 5; "
                          "0 sends none and no category labels; --share-data alone: 50).")
SHARE_DATA_ALONE = 50  # `--share-data` with no number, as the flag meant before it took one


def default_planner() -> str:
    return "llm" if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL") else "rules"


def _finish(result: Any, quiet: bool, background: Optional[str] = None) -> None:
    if quiet:
        print(result.out)
        return
    from causalpilot.agent.loop import user_forbidden
    from causalpilot.reports.interpret import budget_sentence, effect_sentence, forbidden_behind, graph_summary

    print(graph_summary(result.graph))
    forbidden = user_forbidden(background, result.graph.nodes) if result.effects else []
    for eff in result.effects:
        print(effect_sentence(eff, forbidden_behind(eff, result.graph, forbidden)))
    cut = budget_sentence(result.effects)
    if cut:
        print(cut)
    print(f"Results: {result.out}  (report.html, report.md, graph.json, effects.json, run.json)")


@app.command("analyse")
def analyse(
    data: str = typer.Argument(..., help=DATA_HELP),
    out: Optional[str] = OUT,
    seed: int = SEED,
    planner: Optional[str] = typer.Option(None, "--planner", help="rules | llm (default: llm if configured, else rules)."),
    treatment: Optional[str] = typer.Option(None, "--treatment", help="Treatment column for effect estimation."),
    outcome: Optional[str] = typer.Option(None, "--outcome", help="Outcome column for effect estimation."),
    time_index: Optional[str] = TIME_INDEX,
    time_series: bool = TIME_SERIES,
    domain_index: Optional[str] = DOMAIN_INDEX,
    no_domain: bool = NO_DOMAIN,
    question: Optional[str] = typer.Option(None, "--question", help="Your question, in plain words."),
    background: Optional[str] = BACKGROUND,
    algorithm: Optional[str] = typer.Option(None, "--algorithm", help="Force a discovery algorithm."),
    bootstrap: Optional[int] = BOOTSTRAP,
    jobs: Optional[int] = JOBS,
    quiet: bool = QUIET,
    memory: Optional[str] = MEMORY,
    debug: bool = DEBUG,
    share_data: Optional[int] = SHARE_DATA,
    replay: Optional[str] = typer.Option(None, "--replay", help="Re-run an LLM analysis from its transcript.json, "
                                         "with no server: the recorded answers in order (same DATA and options)."),
    cate_by: Optional[str] = typer.Option(None, "--cate-by", help="COL[,COL]: effects within groups of these columns."),
    what_if: Optional[str] = typer.Option(None, "--what-if", help="'X=1.5': mean outcome under do(X=1.5) (dowhy.gcm)."),
    no_order: bool = typer.Option(False, "--no-order", help="Do not assume that the outcome does not cause the "
                                  "treatment (by default naming both forbids outcome -> treatment)."),
    time_budget: float = TIME_BUDGET,
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786): the "
                                            "bootstrap resamples, portfolio members and refuters run on its workers; "
                                            "same results as a local run."),
    stream: Optional[bool] = typer.Option(None, "--stream/--no-stream", help="Read a Parquet/CSV file in batches, not "
                                          "into memory (default: when its table would take over a quarter of the "
                                          "memory available)."),
    sample_rows: Optional[int] = typer.Option(None, "--sample-rows", help="Rows of a streamed file that the profile "
                                              "and row-level methods run on (default 100000)."),
) -> None:
    """One-shot: profile, choose and tune methods, discover the graph, estimate effects, write the report."""
    from causalpilot.agent.loop import AnalysisOptions, run_analysis

    result = run_analysis(AnalysisOptions(
        data=data, out=out, seed=seed, planner=planner or ("llm" if replay else default_planner()),
        treatment=treatment, outcome=outcome,
        time_index=time_index, time_series=time_series, domain_index=domain_index, no_domain=no_domain,
        question=question,
        background=background, algorithm=algorithm, bootstrap=_check_bootstrap(bootstrap), n_jobs=_check_jobs(jobs), quiet=quiet,
        memory_path=memory, command="analyse", share_data=share_data, replay=replay,
        cate_by=[c.strip() for c in cate_by.split(",") if c.strip()] if cate_by else None, what_if=what_if,
        no_order=no_order, time_budget=time_budget or None, scheduler=scheduler, stream=stream,
        sample_rows=sample_rows))
    _finish(result, quiet, background)


@app.command("discover")
def discover(
    data: str = typer.Argument(..., help=DATA_HELP),
    algorithm: str = typer.Option(..., "--algorithm", help="Algorithm name (see `causalpilot algorithms`)."),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="Significance level of the CI tests."),
    indep_test: Optional[str] = typer.Option(None, "--indep-test", help="fisherz, chisq, gsq, kci, fastkci, rcit, ..."),
    target: Optional[str] = typer.Option(None, "--target", help="Target variable of a local algorithm (markov_blanket)."),
    out: Optional[str] = OUT,
    seed: int = SEED,
    time_index: Optional[str] = TIME_INDEX,
    time_series: bool = TIME_SERIES,
    domain_index: Optional[str] = DOMAIN_INDEX,
    no_domain: bool = NO_DOMAIN,
    background: Optional[str] = BACKGROUND,
    bootstrap: Optional[int] = typer.Option(0, "--bootstrap", "-B", help="Bootstrap resamples (default 0)."),
    jobs: Optional[int] = JOBS,
    quiet: bool = QUIET,
    memory: Optional[str] = MEMORY,
    debug: bool = DEBUG,
) -> None:
    """Run one discovery algorithm exactly as asked, no planning (library defaults for what is not given)."""
    from causalpilot.agent.loop import AnalysisOptions, run_analysis
    from causalpilot.agent.planners.fixed import FixedPlanner
    from causalpilot.tools.registry import get_algorithm

    spec = get_algorithm(algorithm)
    if alpha is not None and not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1, got {alpha}.")
    params = {"alpha": alpha, "indep_test": indep_test, "target": target}
    if "ci_test" in spec.defaults:  # time-series algorithms take tigramite's tests (parcorr, robust_parcorr, cmiknn, ...)
        params["ci_test"] = params.pop("indep_test")
    unknown = [k for k, v in params.items() if v is not None and k not in spec.defaults]
    if unknown:
        raise InputError(f"Algorithm '{spec.name}' takes no --{unknown[0].replace('_', '-')} option.")
    result = run_analysis(
        AnalysisOptions(data=data, out=out, seed=seed, planner="fixed", time_index=time_index, time_series=time_series,
                        domain_index=domain_index, no_domain=no_domain, background=background, algorithm=spec.name,
                        params={k: v for k, v in params.items() if v is not None},
                        bootstrap=_check_bootstrap(bootstrap), n_jobs=_check_jobs(jobs), quiet=quiet, memory_path=memory,
                        command="discover"),
        planner=FixedPlanner())
    _finish(result, quiet)


@app.command("chat")
def chat(
    data: Optional[str] = typer.Argument(None, help=DATA_HELP + " Or `load FILE` in the session."),
    out: Optional[str] = OUT,
    seed: int = SEED,
    planner: Optional[str] = typer.Option(None, "--planner", help="rules | llm (default: llm if configured, else rules)."),
    bootstrap: Optional[int] = BOOTSTRAP,
    memory: Optional[str] = MEMORY,
    share_data: Optional[int] = SHARE_DATA,
    debug: bool = DEBUG,
) -> None:
    """Terminal chat session over the same tools; refine the analysis in plain words (/help inside)."""
    from causalpilot.agent.chat import ChatSession

    name = planner or default_planner()
    if name not in ("rules", "llm"):
        raise InputError(f"Unknown planner '{name}'; choose 'rules' or 'llm'.")
    if name == "llm":  # a model the server does not serve: one sentence before the session starts
        from causalpilot.agent.llm_runtime import LLMConfig
        from causalpilot.agent.llm_server import resolve_model

        resolve_model(LLMConfig.from_env())
    ChatSession(data, out=out, seed=seed, planner=name, bootstrap=_check_bootstrap(bootstrap), memory_path=memory,
                share_data=share_data).run()


@app.command("mcp")
def mcp_server(
    data: Optional[str] = typer.Argument(None, help=DATA_HELP + " Loaded before serving (or later with the load_data tool)."),
    seed: int = SEED,
    memory: Optional[str] = MEMORY,
    debug: bool = DEBUG,
) -> None:
    """Serve the agent tools over the Model Context Protocol on stdio, for any MCP client (needs the mcp extra)."""
    try:
        import mcp  # noqa: F401  (the SDK is an extra: say how to install it rather than fail on import)
    except ImportError:
        raise InputError("The MCP server needs the MCP Python SDK: pip install 'causalpilot[mcp]'.") from None
    from causalpilot.agent.mcp_server import serve

    serve(data, seed=seed, memory_path=memory)


@app.command("algorithms")
def list_algorithms(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the discovery algorithms with their profiles."""
    from causalpilot.tools.registry import algorithms

    specs = algorithms()
    if as_json:
        print(json.dumps([s.describe() for s in specs.values()], indent=2))
        return
    import shutil
    import textwrap

    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    for name in sorted(specs):
        s = specs[name]
        print(f"{name}  ({s.family}; output: {s.output} graph)")
        print(textwrap.fill(" ".join(s.profile.split()), width=width, initial_indent="    ", subsequent_indent="    ",
                            break_on_hyphens=False, break_long_words=False))
        print()


@app.command("eval")
def evaluate(
    suite: str = typer.Option(..., "--suite", help="smoke | copilot-scenarios | copilot-peer | timeseries | realistic | realistic-effects."),
    out: Optional[str] = typer.Option(None, "--out", help="Output directory (default ./causalpilot-out/eval-<suite>-seed<N>); "
                                      "a rerun into the same directory skips the tasks already done."),
    seed: int = SEED,
    replicates: Optional[int] = typer.Option(None, "--replicates", help="Seeds per scenario (default: the suite's own; "
                                             "copilot-scenarios 10, timeseries 3, realistic 2, smoke 2)."),
    jobs: int = typer.Option(-1, "--jobs", "-j", help="Parallel local workers (joblib; -1: all cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786): fan out "
                                            "over that cluster instead of local processes."),
    quiet: bool = QUIET,
    debug: bool = DEBUG,
) -> None:
    """Scripted evaluation against a benchmark suite: the agent and fixed-algorithm baselines side by side."""
    from pathlib import Path

    from causalpilot.evals.runner import run_suite
    from causalpilot.evals.suites import get_suite

    if jobs == 0:
        raise InputError("--jobs must be a positive number of workers, or -1 for all cores.")
    if replicates is not None and replicates < 1:
        raise InputError("--replicates must be at least 1.")
    spec = get_suite(suite, seed, replicates)
    target = Path(out) if out else Path.cwd() / "causalpilot-out" / f"eval-{spec.name}-seed{seed}"
    if target.exists() and not target.is_dir():
        raise InputError(f"--out '{target}' exists and is not a directory.")
    rows = run_suite(spec, target, run_seed=seed, n_jobs=jobs, scheduler=scheduler, progress=not quiet)
    if not quiet:
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        print(f"{len(rows)} runs ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})")
        print(f"Results: {target}  (results.md, results.json, tasks.jsonl)")
    else:
        print(target)


@memory_app.command("list")
def memory_list(memory: Optional[str] = MEMORY, limit: int = typer.Option(50, "--limit")) -> None:
    """Past runs, newest first (created: ISO 8601 local time)."""
    from causalpilot.memory.store import MemoryStore

    with MemoryStore(memory) as store:
        runs = store.list_runs(limit)
        if not runs:
            print(f"No runs in memory yet ({store.path}).")
            return
        for r in runs:
            s = r["summary"]
            print(f"{r['run_id']}  {r['created_at']}  {r['command']:8s} {s.get('algorithm', ''):14s} "
                  f"{s.get('n_edges', '')!s:>3} edges  {os.path.basename(r['data_path'] or '')}")


@memory_app.command("show")
def memory_show(key: str = typer.Argument(..., help="A run id, or an item key such as RUN/graph."),
                memory: Optional[str] = MEMORY) -> None:
    """One run (with its item keys) or one item, as JSON (created: epoch seconds; created_at: ISO 8601)."""
    from causalpilot.memory.store import MemoryStore

    with MemoryStore(memory) as store:
        item = store.get(key)
    if item is None:
        raise InputError(f"No run or item with key '{key}' in memory (see `causalpilot memory list`).")
    print(json.dumps(item, indent=2))


def _check_jobs(jobs: int | None) -> int | None:
    if jobs == 0:
        raise InputError("--jobs must be a positive number of workers, or -1 for all cores.")
    return jobs


def _check_bootstrap(b: int | None) -> int | None:
    if b is not None and not 0 <= b <= 10_000:
        raise InputError(f"--bootstrap must be between 0 and 10000, got {b}.")
    return b


def _full_command_help(typer_app: typer.Typer) -> None:
    """List each command with its whole description, wrapped to the terminal, in `--help`: click cuts
    a description to one line ending in '...' unless it is given as the command's short help."""
    import inspect

    for info in typer_app.registered_commands:
        if info.short_help is None and info.callback is not None:
            info.short_help = " ".join((info.help or inspect.getdoc(info.callback) or "").split())


_full_command_help(app)
_full_command_help(memory_app)


def _share_data_alone(args: list[str]) -> list[str]:
    """``--share-data`` not followed by a number means SHARE_DATA_ALONE rows (typer options cannot
    take an optional value, so the number is filled in before parsing)."""
    out: list[str] = []
    for i, a in enumerate(args):
        out.append(a)
        if a == "--share-data" and (i + 1 == len(args) or not args[i + 1].lstrip("-").isdigit()):
            out.append(str(SHARE_DATA_ALONE))
    return out


_REEXEC = "import sys; sys.path.pop(0); from causalpilot.agent.cli import main; main()"


def _fix_hash_seed() -> None:
    """Re-run this command with PYTHONHASHSEED=0 unless the user set it.

    Python salts string hashes per process, and library code that iterates over sets of named nodes
    follows that order: causal-learn's FCI gives different graphs for the same data and seed from
    one process to the next (bnlearn alarm, n = 5000: copilot F1 0.766 or 0.759 by hash seed). Fixing
    the salt before anything runs makes a run a function of the data and --seed; worker processes
    (joblib) inherit it. POSIX only (elsewhere exec does not replace the process)."""
    if os.environ.get("PYTHONHASHSEED") is None and os.name == "posix":
        os.environ["PYTHONHASHSEED"] = "0"
        # -c with the current folder taken off sys.path: a user's tools.py or agent/ can never shadow ours
        os.execv(sys.executable, [sys.executable, "-c", _REEXEC, *sys.argv[1:]])


def _plain_usage(message: str) -> str:
    """A usage error in words a user reads: the type checker's phrases ("Input should be a valid
    integer, unable to parse string as an integer") become "expected a whole number"."""
    import re

    message = re.sub(r"Input should be a valid (number|integer), unable to parse string as an? \w+",
                     lambda m: "expected a whole number" if m.group(1) == "integer" else "expected a number",
                     message.strip())
    return message.rstrip(".")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and map every outcome to the contract's exit codes."""
    if argv is None:  # the console script, not a caller passing arguments (tests)
        _fix_hash_seed()
    args = _share_data_alone(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args
    try:
        rv = app(args=args, prog_name="causalpilot", standalone_mode=False)
    except InputError as exc:
        print(f"causalpilot: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except _NO_ARGS as exc:  # `causalpilot` or `causalpilot memory` alone: the help is the answer
        print(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except _USAGE as exc:
        where = exc.ctx.command_path if getattr(exc, "ctx", None) else "causalpilot"
        print(f"causalpilot: error: {_plain_usage(exc.format_message())}. (Try '{where} --help'.)", file=sys.stderr)
        sys.exit(2)
    except _ABORT:
        print("causalpilot: interrupted.", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("causalpilot: interrupted.", file=sys.stderr)
        sys.exit(130)
    except _CLICK as exc:
        print(f"causalpilot: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:  # an internal error: ours to fix, not the user's
        if debug:
            traceback.print_exc()
        print(f"causalpilot: internal error: {type(exc).__name__}: {exc}. "
              "Rerun with --debug for a traceback and report it.", file=sys.stderr)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
