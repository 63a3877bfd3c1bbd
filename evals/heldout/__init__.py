"""Held-out checks behind planner decisions (README.md lists them)."""

import numpy as np

SCORES = ("copilot_f1", "skeleton_f1", "arrow_f1", "shd")


def scores(graph, truth) -> list[float]:
    """The four scores of :data:`SCORES` for one estimated graph against the true one."""
    from causalpilot.evals.metrics import score

    s = score(graph, truth)
    return [s[k] for k in SCORES]


def print_means(rows: list[list[float]], labels: list[str]) -> None:
    """One line per method: the mean of each score over the data sets (rows: per data set, the methods'
    scores one after the other)."""
    R = np.array(rows)
    for j, label in enumerate(labels):
        c = R[:, 4 * j: 4 * j + 4].mean(axis=0)
        print(f"{label:28s} copilot F1 {c[0]:.3f}  skeleton F1 {c[1]:.3f}  arrow F1 {c[2]:.3f}  SHD {c[3]:.2f}")
