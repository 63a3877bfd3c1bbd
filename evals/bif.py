"""Read a discrete Bayesian network in BIF format and sample from it, with no network access.

The bnlearn networks in ``evals/data/bnlearn`` are the BIF files pgmpy 0.1.26 shipped inside its
wheel (see evals/data/README.md). pgmpy itself is not needed: the files are plain text in one
regular layout, and ancestral sampling is a few lines, so the benchmark data never depend on a
download or on pgmpy's version.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_VARIABLE = re.compile(r"variable\s+([^\s{]+)\s*\{[^}]*?type\s+discrete\s*\[\s*(\d+)\s*\]\s*\{([^}]*)\}", re.S)
_PROBABILITY = re.compile(r"probability\s*\(\s*([^|)]+?)\s*(?:\|\s*([^)]*?))?\s*\)\s*\{(.*?)\}", re.S)
_ROW = re.compile(r"\(([^)]*)\)\s*([^;]*);")
_TABLE = re.compile(r"table\s+([^;]*);")


@dataclass
class BayesNet:
    """A discrete Bayesian network: states per variable, parents, and conditional probability tables."""

    states: dict[str, list[str]]
    parents: dict[str, list[str]]
    cpts: dict[str, dict[tuple[str, ...], np.ndarray]]  # parent-state tuple -> distribution over states

    @property
    def nodes(self) -> list[str]:
        return list(self.states)

    def edges(self) -> list[tuple[str, str]]:
        return [(pa, v) for v in self.states for pa in self.parents[v]]

    def order(self) -> list[str]:
        done: list[str] = []
        seen: set[str] = set()
        while len(done) < len(self.states):
            progress = False
            for v in self.states:
                if v not in seen and all(pa in seen for pa in self.parents[v]):
                    done.append(v)
                    seen.add(v)
                    progress = True
            if not progress:
                raise ValueError("the network has a cycle")
        return done

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """Ancestral sampling; each variable coded 0..k-1 in the order its states are declared."""
        rng = np.random.default_rng(seed)
        codes: dict[str, np.ndarray] = {}
        for v in self.order():
            k = len(self.states[v])
            pas = self.parents[v]
            out = np.empty(n, dtype=int)
            if not pas:
                out[:] = rng.choice(k, size=n, p=self.cpts[v][()])
            else:
                keys = np.stack([codes[pa] for pa in pas], axis=1)
                uniq, inv = np.unique(keys, axis=0, return_inverse=True)
                u = rng.random(n)
                for r, row in enumerate(uniq):
                    key = tuple(self.states[pa][int(c)] for pa, c in zip(pas, row))
                    cdf = np.cumsum(self.cpts[v][key])
                    sel = inv.ravel() == r
                    out[sel] = np.minimum(np.searchsorted(cdf / cdf[-1], u[sel], side="right"), k - 1)
            codes[v] = out
        return pd.DataFrame({v: codes[v] for v in self.states})


def _split(s: str) -> list[str]:
    return [t.strip() for t in s.split(",") if t.strip()]


def parse_bif(text: str) -> BayesNet:
    states = {m.group(1): _split(m.group(3)) for m in _VARIABLE.finditer(text)}
    for v, st in states.items():
        if not st:
            raise ValueError(f"variable {v} has no states")
    parents: dict[str, list[str]] = {v: [] for v in states}
    cpts: dict[str, dict[tuple[str, ...], np.ndarray]] = {v: {} for v in states}
    for m in _PROBABILITY.finditer(text):
        v = m.group(1).strip()
        pas = _split(m.group(2) or "")
        parents[v] = pas
        body = m.group(3)
        t = _TABLE.search(body)
        if t is not None:
            vals = np.array([float(x) for x in _split(t.group(1))])
            if not pas:
                cpts[v][()] = vals
            else:  # a full table, first parent slowest, the child's states fastest
                k = len(states[v])
                grid = np.array(np.meshgrid(*[np.arange(len(states[pa])) for pa in pas], indexing="ij")).reshape(len(pas), -1).T
                for r, combo in enumerate(grid):
                    cpts[v][tuple(states[pa][c] for pa, c in zip(pas, combo))] = vals[r * k:(r + 1) * k]
        for row in _ROW.finditer(body):
            cpts[v][tuple(_split(row.group(1)))] = np.array([float(x) for x in _split(row.group(2))])
    for v in states:
        need = int(np.prod([len(states[pa]) for pa in parents[v]])) if parents[v] else 1
        if len(cpts[v]) != need:
            raise ValueError(f"variable {v}: {len(cpts[v])} CPT rows, expected {need}")
    return BayesNet(states, parents, cpts)


def read_bif(path: str | Path) -> BayesNet:
    p = Path(path)
    raw = gzip.open(p, "rt").read() if p.suffix == ".gz" else p.read_text()
    return parse_bif(raw)
