"""Batched Fisher-z tests from a correlation matrix, bit-for-bit the p-values of causal-learn's FisherZ.

causal-learn's ``FisherZ`` tests one (X, Y | S) at a time: it takes the sub-matrix of the
correlation matrix on ``[min(X,Y), max(X,Y)] + sorted(S)``, inverts it with ``np.linalg.inv``,
reads the partial correlation from the inverse and turns it into a two-sided normal p-value. Here
many tests with conditioning sets of the same size are done at once: the sub-matrices are stacked
and inverted by one ``np.linalg.inv`` call (numpy runs the same LAPACK routine on every matrix of a
stack, so each inverse is the same as a single call), and the remaining steps repeat causal-learn's
arithmetic operation by operation (``math.log`` and ``math.sqrt`` as it does, ``ndtr`` which is what
``norm.cdf`` evaluates). The p-values are therefore identical, not merely close; the tests in
``tests/test_fast_pc.py`` check this.

Optional GPU path: when ``torch`` with a CUDA device is importable, the stacked inverses run on the
GPU in float64. GPU inverses can differ from LAPACK's in the last bits, so every test whose p-value
lies within :data:`GPU_RECHECK_BAND` of alpha is recomputed on the CPU exactly; decisions (p > alpha),
and hence skeletons, separating sets and graphs, are the same as on the CPU.

Caching is per correlation matrix: :class:`PValueCache` is keyed by a hash of the data, so a
bootstrap resample (different data) never reuses another sample's p-values, while repeated runs on
the same data (alpha or depth changes, the final fit after a bootstrap) do.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict

import numpy as np
from scipy.special import ndtr

EPS = np.finfo(float).eps
SINGULAR = "Data correlation matrix is singular. Cannot run fisherz test. Please check your data."  # causal-learn's
GPU_RECHECK_BAND = 1e-6  # |p - alpha| below this: recompute on the CPU (GPU path only)
GPU_MIN_BATCH = 20_000  # fewer tests than this: the transfer costs more than the CPU inverses
_CHUNK_ELEMENTS = 4_000_000  # stacked sub-matrix entries per batch (~32 MB of float64)


def correlation_matrix(data: np.ndarray) -> np.ndarray:
    """The correlation matrix exactly as causal-learn's FisherZ computes it."""
    return np.corrcoef(data.T)


def data_key(data: np.ndarray) -> str:
    """A hash of the data values and shape: the identity of a correlation matrix for caching."""
    arr = np.ascontiguousarray(data, dtype=float)
    h = hashlib.blake2b(arr.tobytes(), digest_size=16)
    h.update(str(arr.shape).encode())
    return h.hexdigest()


def exact_pvalue(corr: np.ndarray, n: int, var: list[int]) -> float:
    """One test, written exactly as causal-learn's ``FisherZ.__call__`` (var = [x, y] + S, x < y)."""
    sub = corr[np.ix_(var, var)]
    try:
        inv = np.linalg.inv(sub)
    except np.linalg.LinAlgError:
        raise ValueError(SINGULAR)
    r = -inv[0, 1] / math.sqrt(abs(inv[0, 0] * inv[1, 1]))
    if abs(r) >= 1:
        r = (1. - EPS) * np.sign(r)
    Z = 0.5 * math.log((1 + r) / (1 - r))
    X = math.sqrt(n - (len(var) - 2) - 3) * abs(Z)
    return 2 * (1 - ndtr(abs(X)))


def _pvalues_from_inverses(inv01: np.ndarray, inv00: np.ndarray, inv11: np.ndarray, n: int, k: int) -> np.ndarray:
    r = -inv01 / np.sqrt(np.abs(inv00 * inv11))
    big = np.abs(r) >= 1  # near-deterministic relation: causal-learn clips to 1 - eps
    if big.any():
        r[big] = (1. - EPS) * np.sign(r[big])
    ratio = (1 + r) / (1 - r)
    # math.log, not np.log: numpy's vectorised log may differ from libm in the last bit
    Z = 0.5 * np.fromiter(map(math.log, ratio.tolist()), dtype=float, count=ratio.size)
    X = math.sqrt(n - k - 3) * np.abs(Z)
    return 2 * (1 - ndtr(np.abs(X)))


def _torch_cuda():
    """torch when it is installed and sees a CUDA device, else None (import-guarded)."""
    try:
        import torch  # noqa: PLC0415
    except Exception:
        return None
    try:
        return torch if torch.cuda.is_available() else None
    except Exception:
        return None


def gpu_available() -> bool:
    return _torch_cuda() is not None


def batched_pvalues(corr: np.ndarray, n: int, rows: np.ndarray, *, use_gpu: bool = False,
                    alpha: float | None = None) -> np.ndarray:
    """p-values of the tests ``rows`` (m x (k+2) ints: x < y, then the sorted conditioning set).

    On the GPU, tests within GPU_RECHECK_BAND of ``alpha`` are recomputed exactly on the CPU.
    """
    rows = np.asarray(rows, dtype=np.int64)
    m, w = rows.shape
    k = w - 2
    out = np.empty(m)
    if m == 0:
        return out
    if n - k - 3 < 0:
        raise ValueError("math domain error: too few samples for a Fisher-z test of this order")
    torch = _torch_cuda() if use_gpu and m >= GPU_MIN_BATCH else None
    chunk = max(1, _CHUNK_ELEMENTS // (w * w))
    if torch is not None:
        corr_t = torch.as_tensor(corr, dtype=torch.float64, device="cuda")
    for start in range(0, m, chunk):
        R = rows[start:start + chunk]
        if torch is None:
            sub = corr[R[:, :, None], R[:, None, :]]
            try:
                inv = np.linalg.inv(sub)
            except np.linalg.LinAlgError:
                raise ValueError(SINGULAR)
            i01, i00, i11 = inv[:, 0, 1], inv[:, 0, 0], inv[:, 1, 1]
        else:
            Rt = torch.as_tensor(R, device="cuda")
            inv_t = torch.linalg.inv(corr_t[Rt[:, :, None], Rt[:, None, :]])
            i01, i00, i11 = (inv_t[:, a, b].cpu().numpy().copy() for a, b in ((0, 1), (0, 0), (1, 1)))
        out[start:start + chunk] = _pvalues_from_inverses(i01, i00, i11, n, k)
    if torch is not None and alpha is not None:
        near = np.flatnonzero(~(np.abs(out - alpha) > GPU_RECHECK_BAND))  # also NaN
        for i in near:
            out[i] = exact_pvalue(corr, n, rows[i].tolist())
    return out


def _row_keys(rows: np.ndarray, p: int) -> np.ndarray:
    """One comparable scalar per row, so rows can be sorted, deduplicated and searched.

    Rows are read as base-p numbers (int64) when that fits, else as raw bytes (void, slower to sort);
    the choice depends only on (p, width), so keys stored in a cache stay comparable.
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    w = rows.shape[1]
    if w * np.log2(max(p, 2)) < 62:
        keys = np.zeros(rows.shape[0], dtype=np.int64)
        for col in range(w):
            keys = keys * p + rows[:, col]
        return keys
    return rows.view(np.dtype((np.void, 8 * w))).ravel()


class PValueCache:
    """p-values already computed for one correlation matrix, by test width (|S| + 2)."""

    def __init__(self, corr: np.ndarray, n: int):
        self.corr, self.n = corr, int(n)
        self._store: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # width -> (sorted keys, p-values)
        self.hits = self.computed = 0
        self.has_gpu_values = False  # GPU p-values may differ from causal-learn's in the last bits

    def pvalues(self, rows: np.ndarray, *, use_gpu: bool = False, alpha: float | None = None) -> np.ndarray:
        """p-values for ``rows`` (duplicates allowed), computing only the tests not seen before."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.shape[0] == 0:
            return np.empty(0)
        w = rows.shape[1]
        keys = _row_keys(rows, self.corr.shape[0])
        ukeys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        upv = np.empty(ukeys.size)
        todo = np.ones(ukeys.size, dtype=bool)
        if w in self._store:
            skeys, spv = self._store[w]
            pos = np.searchsorted(skeys, ukeys)
            pos_c = np.minimum(pos, skeys.size - 1)
            found = skeys[pos_c] == ukeys
            upv[found] = spv[pos_c[found]]
            todo = ~found
        self.hits += int(ukeys.size - todo.sum())
        if todo.any():
            upv[todo] = batched_pvalues(self.corr, self.n, rows[first[todo]], use_gpu=use_gpu, alpha=alpha)
            self.computed += int(todo.sum())
            self.has_gpu_values |= bool(use_gpu and int(todo.sum()) >= GPU_MIN_BATCH and gpu_available())
            if self.size() + int(todo.sum()) > MAX_CACHED_PER_DATA:
                pass  # memory bound: compute, but do not keep, beyond the cap
            elif w in self._store:
                allk = np.concatenate([self._store[w][0], ukeys[todo]])
                allp = np.concatenate([self._store[w][1], upv[todo]])
                order = np.argsort(allk, kind="stable")
                self._store[w] = (allk[order], allp[order])
            else:
                self._store[w] = (ukeys.copy(), upv.copy())
        if self.has_gpu_values and alpha is not None:  # cached GPU values near this alpha: make exact
            for i in np.flatnonzero(~(np.abs(upv - alpha) > GPU_RECHECK_BAND)):
                upv[i] = exact_pvalue(self.corr, self.n, rows[first[i]].tolist())
        return upv[inverse.ravel()]

    def size(self) -> int:
        return sum(v[1].size for v in self._store.values())


_CACHES: OrderedDict[str, PValueCache] = OrderedDict()
_CACHE_SLOTS = 3  # data sets kept (the full data and a couple of others)
MAX_CACHED_PER_DATA = 8_000_000  # p-values kept per data set (~16 bytes each with its key)


def cache_for(data: np.ndarray, corr: np.ndarray | None = None) -> PValueCache:
    """The p-value cache of this exact data (a small LRU: bootstrap resamples get fresh caches)."""
    key = data_key(data)
    if key in _CACHES:
        _CACHES.move_to_end(key)
        return _CACHES[key]
    cache = PValueCache(correlation_matrix(data) if corr is None else corr, data.shape[0])
    _CACHES[key] = cache
    while len(_CACHES) > _CACHE_SLOTS:
        _CACHES.popitem(last=False)
    return cache


def clear_caches() -> None:
    _CACHES.clear()


def _make_cit_class():
    from causallearn.utils.cit import NO_SPECIFIED_PARAMETERS_MSG, CIT_Base, FisherZ, register_ci_test

    class FastFisherZ(FisherZ):
        """A drop-in causal-learn CIT for Fisher-z with a cheaper per-call path and the same p-values.

        causal-learn's FCI and CD-NOD build their test with ``CIT(data, method=name)``; registering
        this class under :data:`FAST_FISHERZ` lets them use it by name. Per call it skips the string
        cache keys and ``norm.cdf``'s argument handling (the dominant costs); p-values are those of
        :func:`exact_pvalue`, i.e. causal-learn's. ``method`` stays 'fisherz' for code that checks it.
        """

        def __init__(self, data, correlation_matrix: np.ndarray | None = None, **kwargs):
            if correlation_matrix is None:
                super().__init__(data, **kwargs)
            else:  # FisherZ.__init__ without recomputing the correlation matrix
                CIT_Base.__init__(self, data, **kwargs)
                self.check_cache_method_consistent("fisherz", NO_SPECIFIED_PARAMETERS_MSG)
                self.assert_input_data_is_valid()
                self.correlation_matrix = correlation_matrix
            self._fast_cache: dict = {}

        def __call__(self, X, Y, condition_set=None):
            S = () if condition_set is None else tuple(sorted(set(map(int, condition_set))))
            X, Y = int(X), int(Y)
            key = (X, Y, S) if X < Y else (Y, X, S)
            p = self._fast_cache.get(key)
            if p is None:
                if key[0] in S or key[1] in S:
                    raise AssertionError("X, Y cannot be in condition_set.")
                p = exact_pvalue(self.correlation_matrix, self.sample_size, [key[0], key[1], *S])
                self._fast_cache[key] = p
            return p

    register_ci_test(FAST_FISHERZ, FastFisherZ)
    return FastFisherZ


FAST_FISHERZ = "fast_fisherz"
_CIT_CLASS = None


def fast_fisherz_cit(data: np.ndarray | None = None, correlation_matrix: np.ndarray | None = None):
    """The registered fast Fisher-z CIT class (or an instance on ``data``); registers it on first use.

    Use ``fci(X, independence_test_method=FAST_FISHERZ)`` or ``cdnod(..., indep_test=FAST_FISHERZ)``
    after calling this once.
    """
    global _CIT_CLASS
    if _CIT_CLASS is None:
        _CIT_CLASS = _make_cit_class()
    return _CIT_CLASS if data is None else _CIT_CLASS(data, correlation_matrix=correlation_matrix)
