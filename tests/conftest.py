"""Shared test setup: every test gets its own memory database and no network access to model hubs."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS/OpenMP thread per process, here and in the processes tests start: the tests' models are small, and
# on a shared 2-core machine extra threads only spin against each other (the suite's CPU time fell by a third;
# no result depends on the thread count, see causalpilot.tools.threads)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _heldout_from_the_checkout() -> None:
    """The held-out evaluation scripts (evals/heldout/) stay out of the wheel, but some tests draw their
    simulations from them: let ``causalpilot.evals.heldout`` resolve to this checkout's folder when the
    installed package (a plain, non-editable install, as in CI) has none."""
    from pathlib import Path

    import causalpilot.evals

    evals = str(Path(__file__).resolve().parents[1] / "evals")
    if (Path(evals) / "heldout").is_dir() and evals not in causalpilot.evals.__path__:
        causalpilot.evals.__path__.append(evals)


_heldout_from_the_checkout()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Point the memory store at a per-test directory and hide any real LLM configuration."""
    monkeypatch.setenv("CAUSALPILOT_HOME", str(tmp_path / "home"))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CAUSALPILOT_MODEL"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture()
def llm_env(monkeypatch):
    """Point the LLM client at a local fake server: ``llm_env(srv.url, timeout=..., model=None)``."""
    from causalpilot.agent import llm_server

    llm_server._models.clear()  # a fake server may get the port of an earlier test's: ask it afresh

    def configure(url, timeout="2", retries="1", steps="6", model="fake-model"):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        if model:
            monkeypatch.setenv("CAUSALPILOT_MODEL", model)
        monkeypatch.setenv("CAUSALPILOT_LLM_TIMEOUT", timeout)
        monkeypatch.setenv("CAUSALPILOT_LLM_RETRIES", retries)
        monkeypatch.setenv("CAUSALPILOT_LLM_BUDGET", "20")
        monkeypatch.setenv("CAUSALPILOT_LLM_MAX_STEPS", steps)
    return configure
