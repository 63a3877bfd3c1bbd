"""A planner setting judged by running the same plan with and without it (held-out scripts)."""
import numpy as np

from causalpilot.evals.metrics import score
from causalpilot.tools.registry import run_algorithm


def with_and_without(plan, data, truth, setting: str) -> list[float]:
    """Copilot, arrowhead and skeleton F1 of ``plan`` run on ``data`` (a DiscoveryInput) as planned,
    then without the parameter ``setting``: six numbers."""
    without = {key: v for key, v in plan.params.items() if key != setting}
    out = []
    for params in (plan.params, without):
        s = score(run_algorithm(plan.algorithm, data, params), truth)
        out += [s["copilot_f1"], s["arrow_f1"], s["skeleton_f1"]]
    return out


def print_with_and_without(R: np.ndarray) -> None:
    """The mean scores of :func:`with_and_without`'s rows (one per data set), one line each."""
    for label, off in (("with the rule", 0), ("without", 3)):
        print(f"  {label:14s} copilot F1 {R[:, off].mean():.3f}  arrow F1 {R[:, off + 1].mean():.3f}  "
              f"skeleton F1 {R[:, off + 2].mean():.3f}")
