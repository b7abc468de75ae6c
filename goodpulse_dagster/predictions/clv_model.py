"""Buy-till-you-die models: MBG/NBD for purchase counts and Gamma-Gamma for spend, in numpy/scipy.

Pure functions on arrays, no Dagster, no SQL. The per-customer summary (frequency, recency, age T,
monetary value; Fader, Hardie and Lee 2005) is computed in DuckDB (predictions/transforms.py);
this module fits and evaluates the models on it.

MBG/NBD (modified BG/NBD, Batislam, Denizel and Filiztekin 2007). While alive, a customer buys
as a Poisson process of rate lambda ~ Gamma(r, alpha); right after every purchase, the first one
included, they drop out for good with probability p ~ Beta(a, b). Plain BG/NBD lets customers drop
out only after a *repeat* purchase, so it calls every one-time buyer certainly alive: with 97% of
Olist customers buying once, that choice alone would decide the result. For one customer with
x repeat purchases, the last at t_x, observed for T (time since the first purchase):

    L = Gamma(r + x) alpha^r / Gamma(r) * B(a, b + x + 1) / B(a, b)
        * [ (alpha + T)^-(r+x) + a / (b + x) * (alpha + t_x)^-(r+x) ]

    P(alive | x, t_x, T) = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x))^(r+x))

    E[purchases in (T, T + t] | x, t_x, T]
        = (a + b + x) / (a - 1)
          * [1 - ((alpha + T) / (alpha + T + t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t / (alpha+T+t))]
          / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x))^(r+x))

Gamma-Gamma (Fader, Hardie and Lee 2005): a purchase's value is Gamma(p, nu) with a customer's
nu ~ Gamma(q, v); it is fitted on the customers with x > 0 on their mean repeat value m. The
expected value of a customer's next purchase is (p (v + x m)) / (p x + q - 1), which for x = 0 is
the population mean p v / (q - 1).

Why written here rather than taken from a library (docs/predictions.md has the comparison):
``lifetimes`` 0.11.3 still installs and runs here (numpy 2.4, pandas 2.3, scipy 1.17) and agrees
with this code (likelihood to 1e-9, fitted parameters to 1e-4), but it has had no release since
2020, its maintainers point users to pymc-marketing, and it pulls autograd and dill;
``pymc-marketing`` 0.19 resolves to 56 packages (pymc, pytensor, numba and llvmlite, arviz,
matplotlib, seaborn, scikit-learn, xarray, h5py...) for a maximum-likelihood fit of four
parameters. The closed forms above are a page of numpy with scipy's gammaln, betaln, digamma and
hyp2f1 (scipy: maintained, already a dependency of that whole stack), tested against an
independent evaluation, against lifetimes' figures and against simulated populations.

Scale. The MBG/NBD likelihood depends on a customer only through (x, t_x, T) in whole days, so
the fit runs on the distinct triples with their customer counts as weights (a few hundred
thousand at most, whatever the number of customers); predictions are evaluated on the same
triples. Nothing is sampled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

# Bounds of the optimiser on the log of each parameter (in the rescaled time unit): wide enough
# for any real population; an estimate on a bound means the data do not pin it down, and the fit
# is reported as not converged.
LOG_PARAM_BOUND = 15.0
# Internal time rescaling: the optimiser works with the largest T mapped to this value (alpha is
# a time scale; the log-likelihood only shifts by a constant, so the estimates are unchanged).
TIME_SCALE_TARGET = 10.0


@dataclass(frozen=True)
class MbgParams:
    r: float
    alpha: float  # in days
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float


@dataclass(frozen=True)
class FitResult:
    """A fitted model: its parameters, the log-likelihood at them (a sum over customers), whether
    the optimiser converged inside the bounds, and what the fit took."""

    params: MbgParams | GammaGammaParams
    log_likelihood: float
    converged: bool
    message: str
    iterations: int
    seconds: float
    customers: int

    def metadata(self, prefix: str) -> dict[str, float | bool | str]:
        values = {f"{prefix}_{k}": float(v) for k, v in vars(self.params).items()}
        return {
            **values,
            f"{prefix}_log_likelihood": float(self.log_likelihood),
            f"{prefix}_converged": bool(self.converged),
            f"{prefix}_fit_seconds": float(self.seconds),
            f"{prefix}_customers": int(self.customers),
            f"{prefix}_message": self.message,
        }


# --- MBG/NBD -----------------------------------------------------------------------------------


def mbg_log_likelihood(
    params: MbgParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """The log-likelihood of each customer (x, t_x, T) under MBG/NBD (element-wise)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    head = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x + 1)
        - betaln(a, b)
        - (r + x) * np.log(alpha + T)
    )
    # log[(alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x)] - log[(alpha+T)^-(r+x)], as a logaddexp:
    # the two terms differ by orders of magnitude for frequent buyers.
    tail = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return head + np.logaddexp(0.0, tail)


def mbg_log_likelihood_gradient(
    params: MbgParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """d log L / d (r, alpha, a, b) of each customer: a (4, n) array. With it the optimiser
    needs one likelihood evaluation per step instead of five (finite differences)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=float)
    log_T, log_t = np.log(alpha + np.asarray(T, float)), np.log(alpha + np.asarray(t_x, float))
    # The weight of the "alive at T" term's partner: sigmoid of the logaddexp's second argument.
    s = expit(np.log(a) - np.log(b + x) + (r + x) * (log_T - log_t))
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - log_T + s * (log_T - log_t)
    d_alpha = (
        r / alpha
        - (r + x) / (alpha + np.asarray(T, float))
        + s * (r + x) * (1 / (alpha + np.asarray(T, float)) - 1 / (alpha + np.asarray(t_x, float)))
    )
    d_a = digamma(a + b) - digamma(a + b + x + 1) + s / a
    d_b = digamma(b + x + 1) - digamma(a + b + x + 1) - digamma(b) + digamma(a + b) - s / (b + x)
    return np.stack([d_r, d_alpha, d_a, d_b])


def _time_scale(T: np.ndarray) -> float:
    top = float(np.max(T)) if len(T) else 0.0
    return top / TIME_SCALE_TARGET if top > 0 else 1.0


def fit_mbg(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None
) -> FitResult:
    """Maximum-likelihood MBG/NBD on customers (or distinct (x, t_x, T) rows with ``weights``
    customers each). Times in days; ``alpha`` comes back in days."""
    started = time.perf_counter()
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    scale = _time_scale(T)
    t_s, T_s = np.asarray(t_x, dtype=float) / scale, T / scale
    total = w.sum()
    if total <= 0:
        # No customer before the cut (a backtest cut before the first order): nothing to fit.
        return FitResult(MbgParams(np.nan, np.nan, np.nan, np.nan), np.nan, False,
                         "no customer to fit", 0, 0.0, 0)  # fmt: skip

    # The gamma and beta functions depend on a customer only through x (a few dozen values):
    # they are taken per distinct x, weighted by its customers; per evaluation only the logs of
    # alpha + T and alpha + t_x are per row (mbg_log_likelihood and its gradient, written per
    # row, are the reference the tests hold this to).
    ux, inverse = np.unique(x, return_inverse=True)
    wx = np.bincount(inverse, weights=w)

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = values = np.exp(log_params)
        log_T, log_t = np.log(alpha + T_s), np.log(alpha + t_s)
        rx = r + x
        tail = np.log(a) - np.log(b + x) + rx * (log_T - log_t)
        per_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux + 1) - betaln(a, b)
        ll = wx @ per_x + total * r * np.log(alpha) + w @ (np.logaddexp(0.0, tail) - rx * log_T)
        s = expit(tail)
        ws = w * s
        d_r = (
            wx @ (digamma(r + ux) - digamma(r))
            + total * np.log(alpha)
            + w @ (-log_T)
            + ws @ (log_T - log_t)
        )
        inv_T, inv_t = 1 / (alpha + T_s), 1 / (alpha + t_s)
        d_alpha = total * r / alpha - w @ (rx * inv_T) + ws @ (rx * (inv_T - inv_t))
        d_a = wx @ (digamma(a + b) - digamma(a + b + ux + 1)) + ws.sum() / a
        d_b = wx @ (
            digamma(b + ux + 1) - digamma(a + b + ux + 1) - digamma(b) + digamma(a + b)
        ) - ws @ (1 / (b + x))
        # By the chain rule, d/d log(theta) = theta d/d theta. The mean, not the sum: the
        # optimiser's tolerances then do not depend on the size.
        grad = np.array([d_r, d_alpha, d_a, d_b]) * values
        return -float(ll) / total, -grad / total

    result = _minimize_log_params(objective, 4)
    r, alpha, a, b = np.exp(result.x)
    params = MbgParams(float(r), float(alpha * scale), float(a), float(b))
    ll = float(np.dot(w, mbg_log_likelihood(params, x, t_x, T)))
    return FitResult(
        params=params,
        log_likelihood=ll,
        converged=_converged(result, ll),
        message=str(result.message),
        iterations=int(result.nit),
        seconds=time.perf_counter() - started,
        customers=int(round(total)),
    )


def _minimize_log_params(objective, n_params: int):
    """Minimise ``objective`` (value and gradient) over the logs of ``n_params`` positive
    parameters, from all ones, each log within +-LOG_PARAM_BOUND (``_converged`` reads the
    bounds)."""
    return minimize(
        objective,
        np.zeros(n_params),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * n_params,
    )


def _converged(result, log_likelihood: float) -> bool:
    at_bound = bool(np.any(np.abs(result.x) >= LOG_PARAM_BOUND - 1e-6))
    return bool(result.success) and np.isfinite(log_likelihood) and not at_bound


def mbg_probability_alive(
    params: MbgParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(still alive at T | x, t_x, T)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=float)
    log_ratio = (r + x) * (np.log(alpha + np.asarray(T, float)) - np.log(alpha + np.asarray(t_x)))
    # 1 / (1 + exp(log(a/(b+x)) + log_ratio)), computed without overflow.
    return 1.0 / (1.0 + np.exp(np.minimum(np.log(a) - np.log(b + x) + log_ratio, 700.0)))


def mbg_expected_purchases(
    params: MbgParams, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[repeat purchases in (T, T + t] | x, t_x, T] (t in days)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        hyp = hyp2f1(r + x, b + x + 1, a + b + x, z)
        bracket = 1.0 - hyp * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        # (a + b + x) / (a - 1) and the bracket change sign together at a = 1, so the product is
        # positive on both sides (a < 1 is common: a heavy-tailed dropout probability).
        alive = (a + b + x) / (a - 1.0) * bracket
    # scipy's 2F1 gives up (NaN / inf) for extreme parameters, e.g. r in the thousands when a
    # small population leaves the purchase rates without spread: there, the same expectation
    # by quadrature over the dropout probability.
    bad = ~np.isfinite(alive)
    if bad.any() and np.isfinite([r, alpha, a, b]).all():
        alive[bad] = _expected_if_alive_by_quadrature(params, t, x[bad], T[bad])
    return np.maximum(alive, 0.0) * mbg_probability_alive(params, x, t_x, T)


QUADRATURE_NODES = 64


def _expected_if_alive_by_quadrature(
    params: MbgParams, t: float, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T, x, T] without 2F1.

    Alive at T after x repeats, a customer's dropout probability is Beta(a, b + x + 1) and their
    rate Gamma(r + x, alpha + T); given p and lambda they expect (1 - exp(-lambda p t)) / p more
    purchases, which over lambda is g(p) = (1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p (smooth,
    g(0) finite). The Beta average of g is a Gauss-Jacobi sum, one set of nodes per distinct x.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    out = np.empty_like(x, dtype=float)
    for xv in np.unique(x):  # a handful of distinct frequencies, not rows
        rows = x == xv
        p, w = beta_quadrature(a, b + xv + 1, QUADRATURE_NODES)
        ratio = (alpha + T[rows, None]) / (alpha + T[rows, None] + p * t)
        g = -np.expm1((r + xv) * np.log(ratio)) / p
        out[rows] = g @ w
    return out


def beta_quadrature(A: float, B: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes in (0, 1) and weights summing to 1 for the Beta(A, B) distribution
    (Golub-Welsch on the monic Jacobi recurrence). Written here because scipy's roots_jacobi
    scales its weights by 2^(A+B-1) B(A, B), which overflows for B in the thousands."""
    al, be = B - 1.0, A - 1.0  # the weight (1 - u)^al (1 + u)^be on (-1, 1), p = (1 + u) / 2
    k = np.arange(n, dtype=float)
    s = 2 * k + al + be
    diag = np.empty(n)
    diag[0] = (be - al) / (al + be + 2)
    diag[1:] = (be**2 - al**2) / (s[1:] * (s[1:] + 2))
    k1, s1 = k[1:], s[1:]
    off = np.sqrt(4 * k1 * (k1 + al) * (k1 + be) * (k1 + al + be) / (s1**2 * (s1 + 1) * (s1 - 1)))
    u, vectors = eigh_tridiagonal(diag, off)
    return (1 + u) / 2, vectors[0] ** 2


# --- Gamma-Gamma -------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Log-likelihood of each repeat customer's mean repeat value ``m`` over ``x`` purchases."""
    p, q, v = params.p, params.q, params.v
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> FitResult:
    """Maximum-likelihood Gamma-Gamma on the customers with x > 0 and m > 0 (values in R$)."""
    started = time.perf_counter()
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    # Rescale money like time: v is a money scale, p and q are unit-free.
    scale = float(np.mean(m)) if len(m) else 1.0
    if len(m) == 0:
        return FitResult(GammaGammaParams(np.nan, np.nan, np.nan), np.nan, False,
                         "no repeat customer with a positive value", 0, 0.0, 0)  # fmt: skip
    m_s = m / scale
    # Everything that does not move with the parameters is summed once, and the gamma functions,
    # which depend on a customer only through x (a handful of values), are taken per distinct x:
    # per evaluation only log(x m + v) is per customer (gammaln over a million repeaters at every
    # step was most of the fit's time).
    n = len(x)
    ux, ucount = np.unique(x, return_counts=True)
    log_m = np.log(m_s)
    xm = x * m_s
    s_x_log_m, s_log_m, s_x_log_x = float(x @ log_m), float(log_m.sum()), float(x @ np.log(x))

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_params)
        pu = p * ux
        log_xm_v = np.log(xm + v)
        s_x_log_xm_v, s_log_xm_v = float(x @ log_xm_v), float(log_xm_v.sum())
        total = (
            ucount @ (gammaln(pu + q) - gammaln(pu))
            + n * (q * np.log(v) - gammaln(q))
            + p * s_x_log_m - s_log_m + p * s_x_log_x
            - p * s_x_log_xm_v - q * s_log_xm_v
        )  # fmt: skip
        psi = digamma(pu + q)
        d_p = ucount @ (ux * (psi - digamma(pu))) + s_x_log_m + s_x_log_x - s_x_log_xm_v
        d_q = ucount @ psi - n * digamma(q) + n * np.log(v) - s_log_xm_v
        d_v = n * q / v - float(np.sum((p * x + q) / (xm + v)))
        grad = np.array([d_p, d_q, d_v]) * (p, q, v) / n
        return -float(total) / n, -grad

    result = _minimize_log_params(objective, 3)
    p, q, v = np.exp(result.x)
    params = GammaGammaParams(float(p), float(q), float(v * scale))
    ll = float(np.sum(gamma_gamma_log_likelihood(params, x, m)))
    # q <= 1 has no finite mean spend: the fit cannot be used for CLV.
    converged = _converged(result, ll) and params.q > 1
    return FitResult(params, ll, converged, str(result.message), int(result.nit),
                     time.perf_counter() - started, int(len(m)))  # fmt: skip


def gamma_gamma_expected_value(
    params: GammaGammaParams, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """E[value of a purchase | x, m]; m is ignored (the population mean applies) where x = 0."""
    p, q, v = params.p, params.q, params.v
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
    return p * (v + x * m) / (p * x + q - 1)


# --- Simulation (tests and the scale benchmark) --------------------------------------------------


def simulate_mbg(
    params: MbgParams, T: np.ndarray, holdout: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw customers from MBG/NBD, observed for ``T`` days after their first purchase and then
    ``holdout`` more: (x, t_x, repeat purchases in the holdout). Vectorised, no loop.

    After every purchase (the first included) a customer survives with 1 - p, so the purchases
    they make before dropping out number K ~ Geometric (P(K = k) = (1-p)^k p). Their purchases
    are the first K arrivals of a Poisson process of rate lambda: given N arrivals in (0, T], the
    x-th arrival time is T times a Beta(x, N - x + 1) draw.
    """
    T = np.asarray(T, dtype=float)
    n = len(T)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    k_max = rng.geometric(p) - 1  # numpy's geometric counts trials to the first success, from 1
    arrivals = rng.poisson(lam * T)
    later = rng.poisson(lam * holdout)
    x = np.minimum(k_max, arrivals)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), arrivals - x + 1), 0.0)
    holdout_purchases = np.minimum(k_max, arrivals + later) - x
    return x, t_x, holdout_purchases
