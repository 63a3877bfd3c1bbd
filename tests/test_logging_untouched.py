"""Importing causalpilot and running an analysis leave the caller's logging, warnings and matplotlib
configuration as they were: libraries are silenced only within the calls that trigger them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: the caller configures logging first, as an application would.
SCRIPT = r"""
import json, logging, sys, warnings
import numpy as np, pandas as pd

class Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
    def emit(self, record):
        self.records.append(record.name)

root = logging.getLogger()
handler = Keep()
root.addHandler(handler)
root.setLevel(logging.INFO)
logging.getLogger("dowhy").setLevel(logging.INFO)
import matplotlib
matplotlib.use("svg")
# the libraries the analysis uses add their own warning filters when first imported; import them here
# so that any filter added later is ours
import scipy.stats, sklearn, statsmodels.api, networkx, matplotlib.pyplot, causallearn, tigramite, dowhy, dowhy.gcm

def state():
    return {"root_level": root.level, "root_handlers": [type(h).__name__ for h in root.handlers],
            "dowhy_level": logging.getLogger("dowhy").level, "disabled": logging.root.manager.disable,
            "filters": len(warnings.filters), "progress_bars": dowhy.gcm.config.show_progress_bars,
            "backend": matplotlib.get_backend(),
            "levels": {n: lg.level for n, lg in sorted(logging.root.manager.loggerDict.items())
                       if isinstance(lg, logging.Logger) and lg.level and n.split(".")[0] in ("causalpilot", "dowhy")}}

before = state()
import causalpilot
after_import = state()

rng = np.random.default_rng(0)
n = 400
a, b = rng.normal(size=n), rng.normal(size=n)
t = a + b + rng.normal(size=n)
y = 2 * t + rng.normal(size=n)
result = causalpilot.analyse(pd.DataFrame({"a": a, "b": b, "t": t, "y": y}), treatment="t", outcome="y",
                             bootstrap=0, seed=0, memory=False, what_if="t=1")
after_run = state()
during = sorted({name for name in handler.records if name.split(".")[0] == "dowhy"})
handler.records.clear()
logging.getLogger("dowhy.causal_model").info("the caller's own dowhy record")
print(json.dumps({"before": before, "after_import": after_import, "after_run": after_run,
                  "estimand": result.effects_list[0]["estimand"], "what_if": "what_if" in result.effects_list[0],
                  "dowhy_records_during": during, "records_after": handler.records}))
"""


def test_an_analysis_leaves_the_callers_logging_and_warnings_as_they_were():
    env = {**os.environ, "PYTHONPATH": str(ROOT.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("MPLBACKEND", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the run went through DoWhy's identification, its refuter statistics and dowhy.gcm (the what-if)
    assert out["estimand"].startswith("backdoor (DoWhy") and out["what_if"]
    assert out["before"]["dowhy_level"] == 20 and out["before"]["progress_bars"] is True
    assert out["after_import"] == out["before"]
    assert out["after_run"] == out["before"]
    # while it ran, DoWhy's notes (INFO, and its WARNING on refuter samples under 100) were held back
    assert out["dowhy_records_during"] == []
    # the level DoWhy's loggers were held at during the run was given back: the caller's records flow again
    assert out["records_after"] == ["dowhy.causal_model"]
