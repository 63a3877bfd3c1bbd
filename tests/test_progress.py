"""Progress of long steps: elapsed time and time left on stderr, never with --quiet, never in a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "health.csv"


def test_durations_read_as_people_say_them():
    from causalpilot.agent.progress import duration

    assert [duration(x) for x in (0.42, 9.94, 12.4, 60, 125, 3600 + 185)] == [
        "0.4 s", "9.9 s", "12 s", "1 min", "2 min 5 s", "1 h 3 min"]


def test_counted_work_reports_elapsed_time_and_time_left_at_the_pace_so_far():
    from causalpilot.agent.progress import Progress, silent

    now = [0.0]
    lines: list[str] = []
    p = Progress("bootstrap", 20, lines.append, every_s=10, clock=lambda: now[0], tty=False)
    for done in range(1, 21):
        now[0] += 2.0  # one resample every 2 s: a line every 10 s, none at the end but the closing one
        p.update(done)
    p.close()
    assert lines[0] == "      bootstrap: 5/20 resamples, 10 s elapsed, about 30 s left"
    assert lines[1] == "      bootstrap: 10/20 resamples, 20 s elapsed, about 20 s left"
    assert lines[-1] == "      bootstrap: 20 resamples in 40 s" and len(lines) == 4
    quiet = Progress("bootstrap", 20, silent, every_s=0, clock=lambda: now[0], tty=True)
    quiet.update(20)
    quiet.close()
    assert quiet.bar is None  # a quiet run draws no bar either


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_bootstrap_reports_each_finished_resample_without_changing_the_result(n_jobs):
    from causalpilot.evals.generators import linear_sem
    from causalpilot.tools.bootstrap import bootstrap
    from causalpilot.tools.registry import DiscoveryInput

    syn = linear_sem(p=4, n=300, seed=2)
    nodes = list(syn.data.columns)
    di = DiscoveryInput(X=syn.data.to_numpy(dtype=float), nodes=nodes, kinds={n: "continuous" for n in nodes}, seed=1)
    seen: list[int] = []
    counted = bootstrap("pc", di, {"alpha": 0.05}, 6, seed=3, n_jobs=n_jobs, progress=seen.append)
    plain = bootstrap("pc", di, {"alpha": 0.05}, 6, seed=3, n_jobs=1)
    assert seen == [1, 2, 3, 4, 5, 6]
    assert counted.edge_frequency == plain.edge_frequency and counted.replicates == 6


def test_the_cli_says_how_long_steps_took_and_nothing_when_quiet(tmp_path, capsys):
    argv = ["analyse", EXAMPLE, "--algorithm", "pc", "-B", "4", "--memory", tmp_path / "m.db"]
    code, _, err = run_cli([*argv, "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    assert "      bootstrap: 4 resamples in " in err
    assert "[2/5] profiled in " in err and "[4/5] discovered " in err and " edges in " in err
    code, out, err = run_cli([*argv, "--out", tmp_path / "b", "-q"], capsys)
    assert code == 0 and err == "" and out.strip() == str(tmp_path / "b")
    same = [(tmp_path / d / "graph.json").read_text() for d in ("a", "b")]
    assert same[0] == same[1]  # what is printed never changes a result
