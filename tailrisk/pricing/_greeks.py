"""Greeks of options on damped and undamped assets: delta, gamma and vega.

**Bump and revalue on common random numbers** (every model, damped and undamped): the venue
runs again with the start price moved by ``+-h`` and with the volatility moved by ``+-v``, on
the same random numbers and the same population (the venue's accounts, entries and probes stay
as they are: the spot moves, the book does not), and central differences give
``delta = (P+ - P-) / 2h``, ``gamma = (P+ - 2 P0 + P-) / h^2``,
``vega = (P(sigma+v) - P(sigma-v)) / 2v``. Their standard errors come from the per-path paired
differences (the cross sums of :func:`._monte_carlo.payoff_sums`). The bumped runs go together
in one pass over the chunks (:func:`._damped_assets.variant_assets`): each chunk's
paths are drawn once; the ``s0`` bumps use them as they are (bit-identical to drawing them
again) and a ``gbm`` volatility bump maps them (to float rounding, see
:mod:`._scenario_paths`); other models draw the volatility bumps' paths again.

**Pathwise by JAX forward mode** (the undamped asset, ``gbm`` and ``student_t`` paths from the
project's samplers): ``jax.jvp`` of the smoothed payoff of ``S_T(s0, sigma)`` along the sampler's
own parameters (drift and step scale), so the derivative of each path is exact; the payoff's
kink is smoothed over ``eps`` USD (softplus for calls and puts, a logistic step for digitals),
which biases the Greeks by ``O(eps^2)``. On a damped asset the pathwise derivative would need
the venue's events to be differentiable in the spot (a liquidation or an ADL close moves with
it), so damped Greeks are by bumps only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._damped_assets import variant_assets
from ._monte_carlo import payoff_sums

__all__ = ["bump_greeks", "pathwise_greeks"]


def _vol_key(model) -> str:
    for key in ("sigma", "scale"):
        if getattr(model, key, None) is not None:
            return key
    raise ValueError(f"model {model.name!r}: vega needs model.sigma or model.scale")


#: the series of one asset in the bumped runs, and the pairs whose cross sums the central
#: differences need
_UP, _BASE, _DN, _VU, _VD = range(5)
_PAIRS = ((_UP, _DN), (_UP, _BASE), (_BASE, _DN), (_VU, _VD))


def _combination(sums, terms):
    """Mean and standard error of ``sum_i w_i f(x_i)`` per strike, ``terms`` ``[(series,
    weight), ...]``, from one kind's :class:`._monte_carlo.PayoffSums` (per-path pairs: the
    variance includes the covariances of the common random numbers)."""
    n = sums.n
    mean = sum(w * sums.f[i] / n for i, w in terms)
    var = 0.0
    for i, wi in terms:
        for j, wj in terms:
            if i == j:
                second = sums.f2[i] / n
            else:
                second = sums.fxy[sums.pairs.index((i, j) if (i, j) in sums.pairs else (j, i))] / n
            var = var + wi * wj * (second - (sums.f[i] / n) * (sums.f[j] / n))
    return mean, np.sqrt(np.maximum(var, 0.0) * n / max(n - 1, 1) / n)


def bump_greeks(exp, maturities: Sequence[float], strikes, kinds=("call",), *,
                probes=None, paths=None, chunk=None, rel_spot: float = 0.01,
                abs_vol: float = 0.01, base=None, antithetic: bool = False
                ) -> dict[str, np.ndarray]:
    """Delta (per unit of spot), gamma (per USD of spot) and vega (USD per 1.00 of annualised
    volatility) by central bumps on common random numbers, for the undamped asset and every
    probe's damped asset; a column table with standard errors. ``base``: the unbumped
    :class:`DampedAssets` when already simulated (on the same paths: ``antithetic`` as it was
    simulated with; the errors then treat the paths as independent)."""
    s0 = exp.model.s0
    h = rel_spot * s0
    key = _vol_key(exp.model)
    vol = getattr(exp.model, key)
    venue = exp.venue
    accounts = None
    if venue is not None:
        from ..venue import build_population

        accounts = build_population(venue, s0, exp.run.seed)

    models = [exp.model.model_copy(update=u) for u in (
        {"s0": s0 + h}, {"s0": s0 - h}, {key: vol + abs_vol}, {key: vol - abs_vol})]
    if base is None:
        models.insert(0, exp.model)
    runs = variant_assets(exp, maturities, models, probes=probes, paths=paths, chunk=chunk,
                          venue=venue, accounts=accounts, antithetic=antithetic)
    if base is None:
        base = runs.pop(0)
    up, dn, vu, vd = runs
    strikes = np.sort(np.asarray(strikes, np.float64))
    cols: dict[str, list] = {c: [] for c in (
        "asset", "probe", "maturity_years", "kind", "strike_usd", "delta", "delta_se", "gamma",
        "gamma_se", "vega", "vega_se")}
    for k, T in enumerate(base.maturities):
        disc = math.exp(-base.r * float(T))
        series = [("undamped", "", lambda a, k=k: a.undamped[:, k])]
        series += [("damped", name, lambda a, k=k, j=j: a.damped[:, k, j])
                   for j, name in enumerate(base.probe_names)]
        for asset, name, get in series:
            sums = payoff_sums(kinds, [get(a) for a in (up, base, dn, vu, vd)], strikes, _PAIRS,
                               s0)
            for kind in kinds:
                d, d_se = _combination(sums[kind], [(_UP, 1 / (2 * h)), (_DN, -1 / (2 * h))])
                g, g_se = _combination(sums[kind], [(_UP, 1 / h**2), (_BASE, -2 / h**2),
                                                    (_DN, 1 / h**2)])
                v, v_se = _combination(sums[kind], [(_VU, 1 / (2 * abs_vol)),
                                                    (_VD, -1 / (2 * abs_vol))])
                m = len(strikes)
                cols["asset"] += [asset] * m
                cols["probe"] += [name] * m
                cols["maturity_years"] += [float(T)] * m
                cols["kind"] += [kind] * m
                cols["strike_usd"] += list(strikes)
                for c, val in (("delta", d), ("delta_se", d_se), ("gamma", g),
                               ("gamma_se", g_se), ("vega", v), ("vega_se", v_se)):
                    cols[c] += list(disc * val)
    return {c: np.asarray(v) for c, v in cols.items()}


def _smooth(kind: str, x, eps: float):
    import jax

    if kind == "call":
        return eps * jax.nn.softplus(x / eps)
    if kind == "put":
        return eps * jax.nn.softplus(-x / eps)
    if kind == "digital":
        return jax.nn.sigmoid(x / eps)
    return jax.nn.sigmoid(-x / eps)


def pathwise_greeks(exp, maturity: float, strikes, kind: str = "call", *, paths=None,
                    eps: float | None = None) -> dict[str, np.ndarray]:
    """Pathwise delta, gamma and vega of the undamped option by ``jax.jvp`` through the price
    sampler (``gbm``, or ``student_t`` given by ``sigma``), with the payoff's kink smoothed over
    ``eps`` USD (default 0.5% of s0). Returns ``{delta, delta_se, gamma, gamma_se, vega,
    vega_se}`` per strike (discounted, same units as :func:`bump_greeks`)."""
    import jax
    import jax.numpy as jnp

    from .._rng import STREAM_PRICE, stream_key
    from ..paths import _params
    from ..paths._increments import _kernel

    model, run = exp.model, exp.run
    name = _params.model_name(model)
    if name not in ("gbm", "student_t") or getattr(model, "sigma", None) is None:
        raise ValueError(f"pathwise Greeks need model gbm or student_t given by sigma, not {name}")
    if run.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    steps = round(maturity / run.dt)
    n = run.paths if paths is None else int(paths)
    s0, sigma = float(model.s0), float(model.sigma)
    eps = 0.005 * s0 if eps is None else float(eps)
    dtype = jnp.dtype(run.dtype)
    host = _params.kernel_params(model, run.steps, run.dt)
    params = _params.to_arrays(host, dtype)
    # the sampler's parameters as functions of sigma: drift (risk-neutral: r dt - log M(sigma)),
    # and the step scale; their derivatives in sigma by a central difference on the host
    dv = 1e-6 * sigma

    def at(sig):
        return _params.kernel_params(model.model_copy(update={"sigma": sig}), run.steps, run.dt)

    hi, lo = at(sigma + dv), at(sigma - dv)
    scale_key = "vol" if name == "gbm" else "step_scale"
    tangent = {k: jnp.zeros_like(v) if not isinstance(v, tuple) else jax.tree.map(
        jnp.zeros_like, v) for k, v in params.items()}
    tangent["drift"] = jnp.asarray((hi["drift"] - lo["drift"]) / (2 * dv), dtype)
    tangent[scale_key] = jnp.asarray((hi[scale_key] - lo[scale_key]) / (2 * dv), dtype)
    key = stream_key(run.seed, STREAM_PRICE)
    strikes_j = jnp.asarray(np.sort(np.asarray(strikes, np.float64)), dtype)
    disc = math.exp(-float(getattr(model, "r", 0.0)) * steps * run.dt)

    def log_return(prm, index):
        inc = _kernel(key, index, prm, name=name, mode=model.mode, steps=run.steps,
                      dtype=dtype.name)
        return jnp.sum(inc[:, :steps], axis=1)

    @jax.jit
    def chunk_moments(index):
        def value_in_spot(spot, prm):
            st = spot * jnp.exp(log_return(prm, index))
            return _smooth(kind, st[:, None] - strikes_j[None, :], eps)

        def delta_fn(spot):
            return jax.jvp(lambda s: value_in_spot(s, params), (spot,), (jnp.ones_like(spot),))

        s = jnp.asarray(s0, dtype)
        (_, d), (_, g) = jax.jvp(delta_fn, (s,), (jnp.ones_like(s),))
        _, v = jax.jvp(lambda prm: value_in_spot(s, prm), (params,), (tangent,))
        out = []
        for a in (d, g, v):
            a = a.astype(jnp.float64) if dtype == jnp.float64 else a
            out += [jnp.sum(a, axis=0), jnp.sum(a * a, axis=0)]
        return out

    size = min(n, 1 << 16)
    acc = None
    for start in range(0, n, size):
        index = jnp.arange(start, start + size, dtype=jnp.uint32)
        moments = chunk_moments(index[: min(size, n - start)])
        moments = [np.asarray(m, np.float64) for m in moments]
        acc = moments if acc is None else [a + b for a, b in zip(acc, moments, strict=True)]
    out = {}
    for i, name_ in enumerate(("delta", "gamma", "vega")):
        m = acc[2 * i] / n
        var = np.maximum(acc[2 * i + 1] / n - m * m, 0.0) * n / max(n - 1, 1)
        out[name_] = disc * m
        out[f"{name_}_se"] = disc * np.sqrt(var / n)
    return out
