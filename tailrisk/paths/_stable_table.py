"""The standard S1 alpha-stable law on the host, in float64: cdf, survival function, density,
median and quantiles, and its :class:`~._quantile.QuantileTable` for the one-word sampler.

``S1(alpha, beta)`` with unit scale and zero location is the law of Samorodnitsky & Taqqu (1994,
"Stable Non-Gaussian Random Processes", ch. 1) and of ``scipy.stats.levy_stable``'s default:
``log E exp(itX) = -|t|^alpha (1 - i beta sign(t) tan(pi alpha / 2))`` for ``alpha != 1`` and
``-|t| (1 + i beta (2 / pi) sign(t) log|t|)`` for ``alpha = 1``.

**Distribution function.** Nolan (1997), "Numerical calculation of stable densities and
distribution functions", Commun. Statist. -- Stochastic Models 13(4), 759-774, written for
the S0 variable ``x = z + zeta`` with ``zeta = -beta tan(pi alpha / 2)``, so that
``x - zeta`` is the S1 variable ``z`` itself. With
``theta0 = arctan(beta tan(pi alpha / 2)) / alpha`` and, for ``theta`` in ``(-theta0, pi/2)``,

    V(theta) = cos(alpha theta0)^(1/(alpha-1))
               * (cos theta / sin(alpha (theta0 + theta)))^(alpha/(alpha-1))
               * cos(alpha theta0 + (alpha - 1) theta) / cos theta,
    g(theta) = z^(alpha/(alpha-1)) V(theta),                                   (z > 0)

the law has ``F(z) = c1 + sign(1 - alpha) / pi * int exp(-g)``, ``c1 = (pi/2 - theta0) / pi``
for ``alpha < 1`` and ``1`` for ``alpha > 1``, density
``f(z) = alpha / (pi |alpha - 1| z) * int g exp(-g)``, ``F(0) = c1`` (alpha < 1) or
``(pi/2 - theta0) / pi`` (alpha > 1), and ``F(z; alpha, beta) = 1 - F(-z; alpha, -beta)``
for ``z < 0``. For ``alpha = 1`` and ``beta > 0`` (``beta < 0`` by the same reflection, ``beta = 0``
is Cauchy), over ``theta`` in ``(-pi/2, pi/2)``,

    V(theta) = (2/pi) (pi/2 + beta theta) / cos theta * exp((pi/2 + beta theta) tan(theta) / beta),
    g(theta) = exp(-pi z / (2 beta)) V(theta),   F(z) = (1/pi) int exp(-g),
    f(z) = (1 / (2 beta)) int g exp(-g).

Both tails are kept to full relative precision by integrating ``exp(-g)`` or
``-expm1(-g)``, whichever is the small probability, never ``1 - (...)``.

**Quadrature.** ``g`` is monotone in ``theta``, and far in a tail ``exp(-g)`` is a step of width
``~ u`` (the tail probability) pressed against one end of the interval. The integral is therefore
taken in a variable that resolves both ends, ``theta = -theta0 + D expit(tau)`` with
``D = pi/2 + theta0`` (so ``log g`` is asymptotically linear in ``tau`` at both ends), by composite
8-point Gauss-Legendre on panels whose breakpoints are the ``tau`` where ``g - g_min`` crosses
fixed levels (``e^-40 .. 40``; found by interpolating a per-law table of ``log V(tau)``) plus
uniform points (at most 2 apart in ``tau``). Beyond the two outer levels the integrand is
replaced by its limit (``h(g_min)`` on the small-g side, ``h(inf)`` on the other) times the
remaining ``theta`` length. The trigonometric factors are evaluated from the distances
``d = theta + theta0`` and ``eps = pi/2 - theta`` to the two ends, so nothing cancels at either
end (or at the one-sided corners ``alpha < 1, beta = +-1`` and ``alpha > 1, beta = -1``).
For ``alpha = 1`` in the tails ``log V`` grows like ``e^tau / beta``, too fast for the
interpolated ``tau`` table to place the levels (they collapse onto one grid cell), and for small
``beta`` the layer is narrower than the spacing of floats near ``tan theta ~ z``. When the layer
is narrow in ``tau`` the panels are therefore laid in ``y = tan(theta) - t0``, offsets from
``t0 = z / (1 + beta)`` (upper tail) or ``z / (1 - beta)`` (lower tail), where
``log g = (pi/2 + beta theta) y / beta - t0 arccot(tan theta) + ...`` (the large terms cancelled
analytically) is nearly linear in ``y``: one Newton step from the tabulated guess places each
level.

**Tail series** (an independent check, used by the tests). For ``alpha != 1`` and ``z > 0``,

    P(Z > z) = (1/pi) sum_{n >= 1} (-1)^(n+1) Gamma(n alpha) / n! c^n
                                    * sin(n alpha (pi/2 + theta0)) z^(-n alpha),

``c = (1 + beta^2 tan^2(pi alpha / 2))^(1/2)``: the term-by-term integral of the density series
obtained by turning the Fourier inversion contour onto the imaginary axis (Bergstrom 1952; Feller
1971, vol. II, ch. XVII; Zolotarev 1986, ch. 2). It converges for ``alpha < 1`` and is
asymptotic for ``alpha > 1``; its first term is the Pareto tail
``Gamma(alpha) sin(pi alpha / 2) / pi (1 + beta) z^-alpha``.

**Quantiles** solve ``log S(z) = log u`` by Newton's method safeguarded by bisection, in
``v = log(z - median)`` (or ``v = -log(-z)`` on the bounded side of ``alpha < 1, beta = -1``),
started from a cubic Hermite interpolation of ``S`` on a 513-point grid of ``v``; about 1.5
quadratures per quantile, 0.4-1 s per table of 2 x 4096 quantiles on a 2-core CPU for
``alpha >= 0.6`` (up to ~4 s at ``alpha = 0.2``). Quantiles are returned as ``log|q - median|``
so that tiny ``alpha`` (quantiles beyond 1e308 at probability 2**-33 when ``alpha < 0.033``)
still tabulates. ``alpha = 2`` is the Gaussian with variance 2 (closed form).

**Accuracy** (measured; the tests in ``tests/test_paths.py`` check each):

* ``cdf``, ``sf``, ``pdf``: ~1e-14 relative against the same quadrature with 24 nodes and 160
  uniform panels; ~1e-13 against ``scipy.stats.levy_stable.cdf/sf`` in the body (scipy's ``sf``
  underflows to 0 in heavy tails, is off by ~3e-8 in the thin tails, and its ``alpha = 1`` tail
  density is wrong); 1e-11 to 1e-15 against the tail series at the quantiles ``u <= 1e-6``; for
  ``alpha = 1`` against ``P(Z > z) = a / (pi z) + 2 a beta (log z - 1 + gamma_E) / (pi^2 z^2)
  + O(log^2 z / z^3)``, ``a = 1 + beta`` (the same contour rotation), to 6e-11 at ``z = 1e6``.
* Near ``alpha = 1`` with ``beta != 0`` the S1 law is shifted by ``beta tan(pi alpha / 2)`` and
  ``log g`` carries rounding ``~1e-16 / |alpha - 1|``: by the continuity of the S0 law the mean of
  the ``alpha = 1 +- delta`` cdfs meets the ``alpha = 1`` cdf to ``O(delta^2)`` down to 1e-11 at
  ``delta = 1e-5``, 1e-10 at ``delta = 1e-6``, 3e-8 at ``delta = 1e-8``.
* Quantiles (distance from the median) are solved to ~1e-12 relative.
* The table (:func:`._quantile.table_error` at cell midpoints, max relative error of
  ``|q - median|``): <= 8e-6 for ``alpha >= 0.9``, <= 2e-5 for ``0.7 <= alpha < 0.9`` (``beta``
  up to +-0.999 included), 3.5e-5 at ``alpha = 0.6, beta = 0``. The worst cells are the
  central ones: for ``alpha < 1`` the density is a spike at its mode (symmetric ``alpha = 0.3``:
  ``f(0) = 3``, ``f''(0) / f(0) = -1.3e5``) holding a few per cent of the mass, i.e. the last few
  cells of the log-u grid. Below 0.6 this grows: table_error 9e-5 at ``alpha = 0.5``, 2.7e-3 at
  0.3 (``beta = 0``), and the probability error ``|F(q_table(u)) - u|`` reaches 1.6e-4 at
  ``alpha = 0.2, beta = 0.5`` (at most 2e-6 for ``alpha >= 0.6``). The sampler therefore uses the
  table for ``alpha >= TABLE_ALPHA_MIN = 0.6`` and keeps Chambers-Mallows-Stuck below.
* On the bounded side of ``alpha < 1, beta = +-1`` the quantile tends to the end of the support,
  0, and the table stays finite; as its entries are distances from the median, the tail is
  resolved only to ``~1e-6 |median|`` of the bound (float32 sampling cannot resolve it either).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.special as sc
from numpy.polynomial.legendre import leggauss

from . import _quantile

#: tables are used by the sampler for alpha >= this (see the module docstring)
TABLE_ALPHA_MIN = 0.6

_PI = math.pi
_GL_X, _GL_W = leggauss(8)
#: the ``tau`` table of ``log V`` spans ``[-TAU_MAX, TAU_MAX]``: ``theta`` lengths ~ D e^-50 beyond
TAU_MAX = 50.0
_TAU_POINTS = 2001
#: ``g - g_min`` levels used as panel breakpoints (and the two cut-offs, first and last)
_LEVELS = np.concatenate(
    [np.exp(np.arange(-40.0, -2.5, 3.0)), np.exp([-2.0, -1.0]), [1, 2, 4, 7, 11, 16, 22, 30, 40]]
)
#: uniform breakpoints are added so that no panel is wider than this in tau (at least 24 of them)
_MAX_SPACING = 2.0
_UNIFORM_BREAKS = 24
#: alpha = 1: layers narrower than this in tau are integrated in y = tan(theta) - t0
_NARROW_TAU = 2.0
_CHUNK = 1024


def _in_chunks(integrals, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``integrals`` (three arrays shaped like its argument) over ``x`` in chunks of _CHUNK
    points, which bounds the (points x nodes) work arrays."""
    out = [np.empty_like(x) for _ in range(3)]
    for s in range(0, x.size, _CHUNK):
        for o, p in zip(out, integrals(x[s : s + _CHUNK]), strict=True):
            o[s : s + _CHUNK] = p
    return tuple(out)
#: quantiles: Newton starts from cubic Hermite interpolation on this many points and stops after
#: a step below _NEWTON_ACCEPT in v = log(distance) (the error after it is ~ its square)
_START_GRID = 513
_NEWTON_ACCEPT = 1e-6


def _quiet(fn):
    """Run ``fn`` with numpy's floating-point warnings off: the end values (log 0, exp(-inf),
    0 * inf at the cut-offs) are expected and handled."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapped


_expit = sc.expit


def _gl_panels(breaks: np.ndarray):
    """Nodes and weights, shape ``(n, panels * 8)``, of composite Gauss-Legendre over the
    sorted breakpoints ``breaks`` (shape ``(n, k)``)."""
    a, b = breaks[:, :-1, None], breaks[:, 1:, None]
    half = 0.5 * (b - a)
    nodes = (0.5 * (a + b) + half * _GL_X).reshape(breaks.shape[0], -1)
    weights = (half * _GL_W).reshape(breaks.shape[0], -1)
    return nodes, weights


def _uniform(a: np.ndarray, b: np.ndarray, tau_span: np.ndarray) -> np.ndarray:
    """Uniform breakpoints from ``a`` to ``b`` (shape ``(n, 1)``), enough of them that the
    widest ``tau_span`` of the chunk gets panels of at most ``_MAX_SPACING``."""
    widest = float(np.max(tau_span, initial=0.0))
    m = max(_UNIFORM_BREAKS, min(math.ceil(widest / _MAX_SPACING) + 1, 128))
    return a + (b - a) * np.linspace(0.0, 1.0, m)


def _h_terms(log_g: np.ndarray):
    """``exp(-g)``, ``-expm1(-g)`` and ``g exp(-g)`` from ``log g`` (no overflow)."""
    g = np.exp(np.minimum(log_g, 700.0))
    return np.exp(-g), -np.expm1(-g), np.exp(log_g - g)


def _outer(h_nodes, weights, g_min, len_small, len_large):
    """Sum the panels and add the theta lengths beyond the two cuts times the integrand's limit
    there: ``h(g_min)`` on the small-g side, ``h(inf) = (0, 1, 0)`` on the other."""
    e_min, ome_min, ge_min = _h_terms(np.log(np.maximum(g_min, 1e-300)))
    limits = ((e_min, 0.0), (ome_min, 1.0), (ge_min, 0.0))
    return [
        np.sum(h * weights, axis=1) + len_small * h_small + len_large * h_large
        for h, (h_small, h_large) in zip(h_nodes, limits, strict=True)
    ]


class _HalfNolan:
    """Nolan's integrals for ``z > 0``, ``alpha != 1``: ``(A, B, I) = (int exp(-g),
    int -expm1(-g), int g exp(-g))`` over ``theta`` (no 1/pi)."""

    def __init__(self, alpha: float, beta: float):
        self.alpha, self.beta = alpha, beta
        a = alpha
        if a < 1.0 and abs(beta) == 1.0:
            theta0 = math.copysign(_PI / 2, beta)
            tan_b = math.copysign(math.tan(_PI * a / 2), beta)
        else:
            tan_b = beta * math.tan(_PI * a / 2)
            theta0 = math.atan(tan_b) / a
        self.theta0 = theta0
        self.D = _PI / 2 + theta0  # theta length of the domain
        # q = pi/2 - theta0, r = pi - alpha D, both >= 0 and exact at the one-sided corners
        self.q = 0.0 if (a < 1.0 and beta == 1.0) else _PI / 2 - theta0
        if a > 1.0 and beta == -1.0:
            self.r = 0.0
        else:
            self.r = max(_PI * (1.0 - a / 2) - math.atan(tan_b), 0.0)
        self.log_cos_a_theta0 = -0.5 * math.log1p(tan_b * tan_b)
        self.power = a / (a - 1.0)  # g = z^power V
        self.decreasing = a > 1.0  # log V decreases in tau for alpha > 1
        self.empty = self.D <= 0.0
        if not self.empty:
            self.tau = np.linspace(-TAU_MAX, TAU_MAX, _TAU_POINTS)
            lv = self.log_v(self.tau)
            # monotone by theory; remove rounding wiggles for the interpolation
            self.lv = np.minimum.accumulate(lv) if self.decreasing else np.maximum.accumulate(lv)
            self.lv_small_end = self.lv[-1] if self.decreasing else self.lv[0]

    def log_v(self, tau: np.ndarray) -> np.ndarray:
        a = self.alpha
        d = self.D * _expit(tau)  # theta + theta0
        eps = self.D * _expit(-tau)  # pi/2 - theta
        # cos theta = sin(eps) = sin(q + d): the second is exact near d = 0 when theta0 = pi/2
        sin_eps = np.where(eps <= _PI / 2, np.sin(eps), np.sin(self.q + d))
        ad = a * d
        sin_ad = np.where(ad <= _PI / 2, np.sin(ad), np.sin(self.r + a * eps))
        # cos(alpha theta0 + (alpha - 1) theta) = sin(q + (1 - alpha) d) = sin(r + (alpha - 1) eps):
        # one argument, written from the nearer end so that a zero there is kept exactly
        cos_mix = np.sin(np.where(d < eps, self.q + (1.0 - a) * d, self.r + (a - 1.0) * eps))
        log_sin_eps = np.log(sin_eps)
        return (
            self.log_cos_a_theta0 / (a - 1.0)
            + self.power * (log_sin_eps - np.log(sin_ad))
            + np.log(cos_mix)
            - log_sin_eps
        )

    def _tau_of_log_v(self, target: np.ndarray) -> np.ndarray:
        if self.decreasing:
            return np.interp(-target, -self.lv, self.tau)
        return np.interp(target, self.lv, self.tau)

    @_quiet
    def integrals(self, log_z: np.ndarray):
        log_z = np.asarray(log_z, np.float64)
        if self.empty:
            zero = np.zeros_like(log_z)
            return zero, zero, zero
        return _in_chunks(self._integrals, log_z)

    def _integrals(self, log_z):
        k = self.power * log_z[:, None]
        g_min = np.exp(np.minimum(k[:, 0] + self.lv_small_end, 700.0))[:, None]
        taus = self._tau_of_log_v(np.log(g_min + _LEVELS) - k)
        lo_cut, hi_cut = taus[:, :1], taus[:, -1:]  # small-g cut, large-g cut
        tau_a, tau_b = np.minimum(lo_cut, hi_cut), np.maximum(lo_cut, hi_cut)
        uniform = _uniform(tau_a, tau_b, tau_b - tau_a)
        breaks = np.sort(np.concatenate([uniform, np.clip(taus, tau_a, tau_b)], axis=1), axis=1)
        nodes, weights = _gl_panels(breaks)
        weights = weights * self.D * _expit(nodes) * _expit(-nodes)  # d theta / d tau
        h_nodes = _h_terms(k + self.log_v(nodes))
        len_left = self.D * _expit(tau_a[:, 0])
        len_right = self.D * _expit(-tau_b[:, 0])
        if self.decreasing:  # the small-g end is theta = pi/2 (tau -> inf)
            return _outer(h_nodes, weights, g_min[:, 0], len_right, len_left)
        return _outer(h_nodes, weights, g_min[:, 0], len_left, len_right)


class _HalfOne:
    """Nolan's integrals ``(A, B, I)`` (as in :class:`_HalfNolan`) for ``alpha = 1``,
    ``beta > 0`` and any real ``z``."""

    def __init__(self, beta: float):
        self.beta = beta
        self.tau = np.linspace(-TAU_MAX, TAU_MAX, _TAU_POINTS)
        self.lv = np.maximum.accumulate(self._log_v_tau(self.tau))

    def _split(self, tau):
        d = _PI * _expit(tau)  # theta + pi/2
        eps = _PI * _expit(-tau)  # pi/2 - theta
        near_top = eps < d
        cos_theta = np.where(near_top, np.sin(eps), np.sin(d))
        tan_theta = np.where(near_top, np.cos(eps), -np.cos(d)) / cos_theta
        return d, cos_theta, tan_theta

    def _log_v_tau(self, tau):
        b = self.beta
        d, cos_theta, tan_theta = self._split(tau)
        p = (1.0 - b) * _PI / 2 + b * d
        return math.log(2 / _PI) + np.log(p / cos_theta) + p * tan_theta / b

    def _ref(self, x):
        """The offset ``t0`` of ``tan theta`` around which the nodes are placed."""
        b = self.beta
        if b == 1.0:
            return np.where(x >= 0, x / 2, 0.0)
        return np.where(x >= 0, x / (1.0 + b), x / (1.0 - b))

    def _log_g(self, y, t0, x):
        """``log g`` at ``tan theta = t0 + y`` without the cancellation of the big terms."""
        b = self.beta
        t = t0 + y
        ac = np.arctan2(1.0, t)  # pi/2 - theta
        bc = np.arctan2(1.0, -t)  # pi/2 + theta
        p = (1.0 - b) * _PI / 2 + b * bc
        upper = (x >= 0) & (t0 != 0)
        lower = (x < 0) & (t0 != 0)
        rest = np.where(upper, -t0 * ac, np.where(lower, t0 * bc, -_PI * x / (2 * b)))
        return p * y / b + rest + math.log(2 / _PI) + np.log(p) + 0.5 * np.log1p(t * t), t

    @_quiet
    def integrals(self, x: np.ndarray):
        return _in_chunks(self._integrals, np.asarray(x, np.float64))

    def _integrals(self, x):
        b = self.beta
        xc = x[:, None]
        k = -_PI * xc / (2 * b)
        g_min = np.exp(np.minimum(k + self.lv[0], 700.0))
        levels = np.log(g_min + _LEVELS)
        taus = np.interp(levels - k, self.lv, self.tau)
        # a layer wide in tau lies in the body, where log g = k + log V has no harmful
        # cancellation: integrate in tau; a narrow one (tail, or small beta) in y
        narrow = taus[:, -1] - taus[:, 0] < _NARROW_TAU
        res = [np.empty(x.shape) for _ in range(3)]
        for mask, fn in ((~narrow, self._in_tau), (narrow, self._in_y)):
            if np.any(mask):
                parts = fn(xc[mask], k[mask], levels[mask], taus[mask])
                for r, part in zip(res, parts, strict=True):
                    r[mask] = part
        return res

    def _in_tau(self, xc, k, levels, taus):
        tau_a, tau_b = taus[:, :1], taus[:, -1:]
        uniform = _uniform(tau_a, tau_b, tau_b - tau_a)
        breaks = np.sort(np.concatenate([uniform, taus], axis=1), axis=1)
        nodes, weights = _gl_panels(breaks)
        weights = weights * _PI * _expit(nodes) * _expit(-nodes)
        h_nodes = _h_terms(k + self._log_v_tau(nodes))
        len_left, len_right = _PI * _expit(tau_a[:, 0]), _PI * _expit(-tau_b[:, 0])
        return _outer(
            h_nodes, weights, np.exp(np.minimum(k[:, 0] + self.lv[0], 700.0)), len_left, len_right
        )

    def _in_y(self, xc, k, levels, taus):
        b = self.beta
        t0 = self._ref(xc)
        # level points: one fixed-point step of log g(y) = level from the tabulated position
        _, _, tan_l = self._split(taus)
        log_g_l, _ = self._log_g(tan_l - t0, t0, xc)
        p_l = (1.0 - b) * _PI / 2 + b * np.arctan2(1.0, -tan_l)
        y_levels = np.maximum.accumulate((tan_l - t0) + (levels - log_g_l) * b / p_l, axis=1)
        y_a, y_b = y_levels[:, :1], y_levels[:, -1:]
        uniform = _uniform(y_a, y_b, taus[:, -1] - taus[:, 0])
        breaks = np.sort(np.concatenate([uniform, y_levels], axis=1), axis=1)
        nodes, weights = _gl_panels(breaks)
        log_g, t = self._log_g(nodes, t0, xc)
        weights = weights / (1.0 + t * t)  # d theta / d tan(theta)
        h_nodes = _h_terms(log_g)
        t_a, t_b = t0[:, 0] + y_a[:, 0], t0[:, 0] + y_b[:, 0]
        len_left, len_right = np.arctan2(1.0, -t_a), np.arctan2(1.0, t_b)
        return _outer(
            h_nodes, weights, np.exp(np.minimum(k[:, 0] + self.lv[0], 700.0)), len_left, len_right
        )


class StableLaw:
    """Standard S1 stable law ``(alpha, beta)``: ``cdf``, ``sf``, ``pdf`` (float64 arrays),
    ``median``, ``density_at_median``, and the quantiles :meth:`isf_log_distance`."""

    def __init__(self, alpha: float, beta: float):
        alpha, beta = float(alpha), float(beta)
        if not (0.0 < alpha <= 2.0 and -1.0 <= beta <= 1.0):
            raise ValueError(f"alpha = {alpha}, beta = {beta}: need 0 < alpha <= 2, |beta| <= 1")
        self.alpha, self.beta = alpha, beta
        if alpha == 2.0:
            self.kind = "gauss"
        elif alpha == 1.0:
            self.kind = "cauchy" if beta == 0.0 else "one"
            if beta != 0.0:
                self._half = _HalfOne(abs(beta))
        else:
            self.kind = "nolan"
            self._pos = _HalfNolan(alpha, beta)
            self._neg = self._pos if beta == 0.0 else _HalfNolan(alpha, -beta)
        self.median = self._solve_median()
        self.density_at_median = float(self.pdf(np.array([self.median]))[0])

    # ---- cdf, sf, pdf ------------------------------------------------------------------------

    def _nolan_side(self, half: _HalfNolan, log_z):
        """``(F, S, f z)`` of the law of ``half`` at ``z = exp(log_z) > 0``."""
        a = self.alpha
        big_a, big_b, big_i = half.integrals(log_z)
        if a > 1.0:
            cdf, sf = 1.0 - big_a / _PI, big_a / _PI
        else:
            cdf, sf = (_PI / 2 - half.theta0) / _PI + big_a / _PI, big_b / _PI
        return cdf, sf, a * big_i / (_PI * abs(a - 1.0))

    def evaluate_signed(self, sign: np.ndarray, log_abs: np.ndarray):
        """``(F, S, f |z|)`` at ``z = sign * exp(log_abs)`` (``sign`` in {-1, 0, 1}), so that
        quantiles beyond the float range still evaluate. Arrays of one shape, float64."""
        sign = np.asarray(sign, np.float64)
        log_abs = np.asarray(log_abs, np.float64)
        cdf, sf, fz = (np.empty(sign.shape) for _ in range(3))
        if self.kind != "nolan":
            z = sign * np.exp(log_abs)
            cdf[...], sf[...], pdf = self.cdf_sf_pdf(z)
            fz[...] = pdf * np.abs(z)
            return cdf, sf, fz
        pos, neg, zero = sign > 0, sign < 0, sign == 0
        if np.any(pos):
            cdf[pos], sf[pos], fz[pos] = self._nolan_side(self._pos, log_abs[pos])
        if np.any(neg):
            s_, c_, f_ = self._nolan_side(self._neg, log_abs[neg])
            cdf[neg], sf[neg], fz[neg] = c_, s_, f_
        if np.any(zero):
            f0 = self._pos
            cdf[zero] = (_PI / 2 - f0.theta0) / _PI
            sf[zero] = f0.D / _PI
            fz[zero] = 0.0
        return cdf, sf, fz

    @_quiet
    def cdf_sf_pdf(self, z: np.ndarray):
        """``(F(z), S(z), f(z))``, float64 arrays of the shape of ``z``."""
        z = np.asarray(z, np.float64)
        if self.kind == "gauss":
            return (
                0.5 * sc.erfc(-z / 2),
                0.5 * sc.erfc(z / 2),
                np.exp(-z * z / 4) / (2 * math.sqrt(_PI)),
            )
        if self.kind == "cauchy":
            return (
                np.arctan2(1.0, -z) / _PI,
                np.arctan2(1.0, z) / _PI,
                1.0 / (_PI * (1.0 + z * z)),
            )
        if self.kind == "one":
            b = self.beta
            flat = z.ravel()
            big_a, big_b, big_i = self._half.integrals(flat if b > 0 else -flat)
            cdf, sf = big_a / _PI, big_b / _PI
            if b < 0:
                cdf, sf = sf, cdf
            pdf = big_i / (2 * abs(b))
            return tuple(v.reshape(z.shape) for v in (cdf, sf, pdf))
        with np.errstate(divide="ignore"):
            log_abs = np.log(np.abs(z))
        cdf, sf, fz = self.evaluate_signed(np.sign(z), log_abs)
        with np.errstate(divide="ignore", invalid="ignore"):
            pdf = np.where(z == 0, self._density_at_zero(), fz / np.abs(z))
        return cdf, sf, pdf

    def _density_at_zero(self) -> float:
        """Nolan (1997): ``f(zeta) = Gamma(1 + 1/alpha) cos(theta0) cos(alpha theta0)^(1/alpha)
        / pi`` at the S1 origin."""
        h = self._pos
        a = self.alpha
        return math.gamma(1 + 1 / a) * math.cos(h.theta0) * math.exp(h.log_cos_a_theta0 / a) / _PI

    def cdf(self, z):
        return self.cdf_sf_pdf(z)[0]

    def sf(self, z):
        return self.cdf_sf_pdf(z)[1]

    def pdf(self, z):
        return self.cdf_sf_pdf(z)[2]

    # ---- median and quantiles -----------------------------------------------------------------

    def _solve_median(self) -> float:
        if self.beta == 0.0 or self.kind == "gauss":
            return 0.0
        sf0 = float(self.sf(np.array([0.0]))[0])
        if sf0 == 0.5:
            return 0.0
        direction = 1.0 if sf0 > 0.5 else -1.0
        lo, step = 0.0, 1.0
        hi = direction * step
        while (float(self.sf(np.array([hi]))[0]) - 0.5) * direction > 0:
            lo, step = hi, 2 * step
            hi = direction * step
        a, b = min(lo, hi), max(lo, hi)
        z = 0.5 * (a + b)
        for _ in range(200):
            _, s, f = (float(v[0]) for v in self.cdf_sf_pdf(np.array([z])))
            if s > 0.5:
                a = z
            else:
                b = z
            step = (s - 0.5) / f if f > 0 else math.inf
            z_new = z + step
            if not (a < z_new < b):
                z_new = 0.5 * (a + b)
            if abs(z_new - z) <= 1e-15 * max(1.0, abs(z)) or b - a <= 4e-16 * max(1.0, abs(z)):
                return z_new
            z = z_new
        return z

    def _bounded_above(self) -> bool:
        """``alpha < 1, beta = -1``: the support is ``(-inf, 0]``."""
        return self.alpha < 1.0 and self.beta == -1.0

    def _side(self, v: np.ndarray):
        """For the upper side's Newton variable ``v``: ``(sign z, log|z|, log dz/dv,
        log(z - median))``."""
        m = self.median
        if self._bounded_above():
            log_m = math.log(-m)
            log_dist = log_m + np.log(-np.expm1(-v - log_m))
            return -np.ones_like(v), -v, -v, log_dist
        if m > 0:
            return np.ones_like(v), np.logaddexp(math.log(m), v), v, v
        if m == 0:
            return np.ones_like(v), v, v, v
        log_m = math.log(-m)
        above = v > log_m
        with np.errstate(divide="ignore"):
            log_abs = np.where(
                above,
                v + np.log(-np.expm1(np.minimum(log_m - v, 0.0))),
                log_m + np.log(-np.expm1(np.minimum(v - log_m, 0.0))),
            )
        return np.where(above, 1.0, np.where(v == log_m, 0.0, -1.0)), log_abs, v, v

    @_quiet
    def _log_sf_and_slope(self, v: np.ndarray):
        """``log S`` and ``d log S / dv`` at the upper side's ``v``."""
        sign, log_abs, log_dz, _ = self._side(v)
        if self.kind == "nolan":
            _, s, fz = self.evaluate_signed(sign, log_abs)
            dens_dz = fz * np.exp(log_dz - log_abs)
        else:
            z = sign * np.exp(log_abs)
            _, s, f = self.cdf_sf_pdf(z)
            dens_dz = f * np.exp(log_dz)
        with np.errstate(divide="ignore"):
            log_s = np.log(s)
        return log_s, -dens_dz / s

    def _bracket(self, log_u_min: float, log_u_max: float):
        """``v_lo < v_hi`` with ``S(v_lo) > u_max`` and ``S(v_hi) < u_min``."""
        half_gap = 0.5 - math.exp(log_u_max)
        dist = max(half_gap, 1e-300) / self.density_at_median
        if self._bounded_above():
            m = -self.median
            v_lo = -math.log(m - min(dist * math.exp(-3.0), 0.5 * m))
        else:
            v_lo = math.log(dist) - 3.0
        while self._log_sf_and_slope(np.array([v_lo]))[0][0] <= log_u_max:
            v_lo -= 3.0
        step = 2.0
        v_hi = v_lo + step
        while self._log_sf_and_slope(np.array([v_hi]))[0][0] >= log_u_min:
            step *= 2.0
            v_hi += step
        return v_lo, v_hi

    def isf_log_distance(self, u: np.ndarray) -> np.ndarray:
        """``log(isf(u) - median)`` for tail probabilities ``u`` in ``(0, 1/2]`` (``-inf`` at
        ``1/2``); float64 array of the shape of ``u``."""
        return self._isf_parts(u)[1]

    def _isf_parts(self, u):
        """``(v, log(isf(u) - median))`` for ``u`` in ``(0, 1/2]`` (``v = nan`` at 1/2)."""
        u = np.asarray(u, np.float64)
        v = np.full(u.shape, np.nan)
        log_dist = np.full(u.shape, -np.inf)
        inner = u < 0.5
        if np.any(inner):
            v[inner] = self._solve_v(np.log(u[inner]))
            log_dist[inner] = self._side(v[inner])[3]
        return v, log_dist

    def _solve_v(self, log_u: np.ndarray) -> np.ndarray:
        v_lo, v_hi = self._bracket(float(log_u.min()) - 1.0, float(log_u.max()))
        grid = np.linspace(v_lo, v_hi, _START_GRID)
        log_s, slope = self._log_sf_and_slope(grid)
        # brackets from the grid (log S decreases in v)
        j = np.clip(np.searchsorted(-log_s, -log_u) - 1, 0, grid.size - 2)
        lo, hi = grid[j], grid[j + 1]
        # cubic Hermite start in (log S -> v)
        s0, s1 = log_s[j], log_s[j + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            d0, d1 = 1.0 / slope[j], 1.0 / slope[j + 1]
            h = s1 - s0
            t = (log_u - s0) / h
            v = (
                (2 * t**3 - 3 * t**2 + 1) * lo
                + (t**3 - 2 * t**2 + t) * h * d0
                + (-2 * t**3 + 3 * t**2) * hi
                + (t**3 - t**2) * h * d1
            )
        v = np.where(np.isfinite(v) & (v > lo) & (v < hi), v, 0.5 * (lo + hi))
        active = np.arange(v.size)
        for _ in range(100):
            ls, sl = self._log_sf_and_slope(v[active])
            r = ls - log_u[active]
            too_small = r > 0  # S(v) > u: the root is to the right
            lo[active] = np.where(too_small, v[active], lo[active])
            hi[active] = np.where(too_small, hi[active], v[active])
            with np.errstate(divide="ignore", invalid="ignore"):
                step = -r / sl
            v_new = v[active] + step
            newton = np.isfinite(v_new) & (v_new > lo[active]) & (v_new < hi[active])
            v_new = np.where(newton, v_new, 0.5 * (lo[active] + hi[active]))
            # Newton converges quadratically: after a step of 1e-6 the error is ~1e-12
            done = (newton & (np.abs(step) <= _NEWTON_ACCEPT)) | (hi[active] - lo[active] <= 1e-13)
            v[active] = v_new
            active = active[~done]
            if active.size == 0:
                break
        return v

    def log_distances(self, u: np.ndarray, upper: bool) -> np.ndarray:
        """``log|q(u) - median|`` of the lower (``ppf(u)``) or upper (``isf(u)``) quantile."""
        if upper:
            return self.isf_log_distance(u)
        return reflected(self.alpha, self.beta).isf_log_distance(u)

    def isf(self, u: np.ndarray) -> np.ndarray:
        """Upper quantile ``isf(u)`` for ``u`` in ``(0, 1/2]``, float64 (overflows to inf for
        tiny ``alpha``; :meth:`log_distances` does not)."""
        v, log_dist = self._isf_parts(u)
        with np.errstate(over="ignore", invalid="ignore"):
            if self._bounded_above():  # -exp(-v) keeps the approach to the bound 0 exact
                return np.where(np.isnan(v), self.median, -np.exp(-v))
            return self.median + np.exp(log_dist)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Lower quantile ``ppf(u)`` for ``u`` in ``(0, 1/2]``, float64."""
        return -reflected(self.alpha, self.beta).isf(u)


@functools.lru_cache(maxsize=64)
def stable_law(alpha: float, beta: float) -> StableLaw:
    """The cached :class:`StableLaw` of ``S1(alpha, beta)``."""
    return StableLaw(alpha, beta)


def reflected(alpha: float, beta: float) -> StableLaw:
    """The law of ``-Z`` for ``Z ~ S1(alpha, beta)``: ``S1(alpha, -beta)``."""
    return stable_law(alpha, -beta if beta != 0.0 else 0.0)


def tail_series(z: np.ndarray, alpha: float, beta: float, terms: int = 40) -> np.ndarray:
    """``P(Z > z)`` for ``z > 0`` from the series in the module docstring (``alpha != 1``):
    convergent for ``alpha < 1``, asymptotic for ``alpha > 1`` (use only far in the tail)."""
    z = np.asarray(z, np.float64)[..., None]
    a = alpha
    tan_b = beta * math.tan(_PI * a / 2)
    theta0 = math.atan(tan_b) / a
    c = math.sqrt(1.0 + tan_b * tan_b)
    n = np.arange(1, terms + 1, dtype=np.float64)
    log_coef = sc.gammaln(n * a) - sc.gammaln(n + 1) + n * math.log(c)
    sign = np.where(n % 2 == 1, 1.0, -1.0) * np.sin(n * a * (_PI / 2 + theta0))
    return np.sum(sign * np.exp(log_coef - n * a * np.log(z)), axis=-1) / _PI


@functools.lru_cache(maxsize=32)
def stable_table(
    alpha: float, beta: float, n: int = _quantile.TABLE_SIZE
) -> _quantile.QuantileTable:
    """Quantile table of the standard S1 stable law ``(alpha, beta)`` for
    :func:`._quantile.sample` (built from log-distances, so every ``alpha`` gives finite
    entries)."""
    law = stable_law(float(alpha), float(beta))
    return _quantile.build_table_from_log_distance(
        lambda u: law.log_distances(u, upper=False),
        lambda u: law.log_distances(u, upper=True),
        law.median,
        law.density_at_median,
        n,
    )
