"""Price-path samplers: scipy twins, moments, tails, martingales, chunking, dtypes, compilation.

Statistical tests use fixed keys; each states the probability that a correct sampler fails it
(KS p-value threshold 1e-4; mean checks at 5 standard errors, ~6e-7 each).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from tailrisk import config
from tailrisk._rng import STREAM_PRICE, stream_key
from tailrisk.paths import log_increments, log_prices, risk_neutral_drift
from tailrisk.paths._bench import bench_samplers
from tailrisk.paths._increments import TRACE_COUNT
from tailrisk.paths._params import student_t_table
from tailrisk.paths._quantile import table_error, table_quantile_host
from tailrisk.paths._risk_neutral import student_t_scale
from tailrisk.paths._stable_table import (
    TABLE_ALPHA_MIN,
    StableLaw,
    stable_law,
    stable_table,
    tail_series,
)

KEY = stream_key(2024, STREAM_PRICE)
DAY = 1.0 / 365.0
P_MIN = 1e-4  # a correct sampler fails one KS check with probability 1e-4


# Most tests draw chunks of this one shape so that each model compiles few kernels.
N, STEPS = 4096, 16


def draw(model, n=N, steps=STEPS, dt=DAY, dtype=jnp.float32, key=KEY, start=0):
    index = jnp.arange(start, start + n)
    return np.asarray(log_increments(key, model, index, steps, dt, dtype), np.float64)


def draw_many(model, chunks, dt=DAY):
    """``chunks`` consecutive chunks of the standard shape, stacked: (chunks * N, STEPS)."""
    return np.concatenate([draw(model, dt=dt, start=c * N) for c in range(chunks)])


def _normal_twin(m, dt):
    return st.norm(m.mu * dt, m.sigma * math.sqrt(dt))


def _t_twin(m, dt):
    step, unit = student_t_scale(m, dt)
    return st.t(m.nu, loc=m.mu * dt, scale=step * unit)


def _garch_flat_twin(m, dt):
    return st.t(m.nu, scale=math.sqrt(m.omega * (m.nu - 2) / m.nu))


def _stable_twin(m, dt):
    return st.levy_stable(m.alpha, m.beta, scale=m.scale * dt ** (1 / m.alpha))


# One table: a model whose single increment has a known scipy law -> that law.
TWINS = {
    "gbm": (config.GbmModel(name="gbm", sigma=0.8, mu=0.3), _normal_twin),
    "t_scale_nu0.8": (config.StudentTModel(name="student_t", nu=0.8, scale=0.5), _t_twin),
    "t_scale_nu2.2": (config.StudentTModel(name="student_t", nu=2.2, scale=0.5, mu=1.0), _t_twin),
    "t_sigma_nu4": (config.StudentTModel(name="student_t", nu=4.0, sigma=0.7), _t_twin),
    "garch_t_flat": (
        config.GarchTModel(name="garch_t", omega=4e-4, alpha=0.0, beta=0.0, nu=3.5),
        _garch_flat_twin,
    ),
    "stable_1.7": (config.StableModel(name="stable", alpha=1.7, beta=0.0), _stable_twin),
    "stable_1.3_skew": (config.StableModel(name="stable", alpha=1.3, beta=0.5), _stable_twin),
    "stable_1.0_skew": (config.StableModel(name="stable", alpha=1.0, beta=-0.3), _stable_twin),
    "stable_0.7_skew": (config.StableModel(name="stable", alpha=0.7, beta=0.6), _stable_twin),
    # one-sided corners, the Gaussian end, and the Chambers-Mallows-Stuck fallback below the table
    "stable_1.0_beta1": (config.StableModel(name="stable", alpha=1.0, beta=1.0), _stable_twin),
    "stable_0.7_beta-1": (config.StableModel(name="stable", alpha=0.7, beta=-1.0), _stable_twin),
    "stable_2.0": (config.StableModel(name="stable", alpha=2.0, beta=0.3), _stable_twin),
    "stable_0.5_cms": (config.StableModel(name="stable", alpha=0.5, beta=0.3), _stable_twin),
}


@pytest.mark.parametrize("case", sorted(TWINS))
def test_increments_match_scipy_twin(case):
    model, twin = TWINS[case]
    # one increment per path keeps the sample independent; scipy's stable cdf is slow
    x = draw(model)[:, -1][: 2500 if model.name == "stable" else N]
    result = st.kstest(x, twin(model, DAY).cdf)
    assert result.pvalue > P_MIN, (case, result)


@pytest.mark.parametrize("nu", [0.5, 2.2, 4.0])
def test_quantile_table_error(nu):
    dist = st.t(nu)
    table = student_t_table(nu)
    assert table_error(table, dist.ppf, dist.isf) < 2e-5
    # the far tail reaches probability 2**-33 (a 23-bit float uniform stops near 1e-7)
    u = np.array([2.0**-33])
    far = table_quantile_host(table, u, upper=False)
    np.testing.assert_allclose(far, dist.ppf(u), rtol=2e-5)


# --- the S1 stable law behind the stable sampler's quantile table --------------------------------

STABLE_LAWS = [
    (1.7, 0.0),
    (1.3, 0.5),
    (1.0, -0.3),
    (1.0, 1.0),
    (0.7, -1.0),
    (1.5, 1.0),
    (0.8, 0.6),
    (1.01, 0.7),
    (1.999, 0.2),
]


@pytest.mark.parametrize(("alpha", "beta"), STABLE_LAWS)
def test_stable_quantiles_match_scipy(alpha, beta):
    # scipy integrates Nolan's representation point by point with adaptive quadrature, an
    # independent implementation: ~1e-13 in the body (beyond |z| ~ 150 it returns 0 or 1)
    law = stable_law(alpha, beta)
    u = np.array([3e-3, 0.03, 0.3])
    np.testing.assert_allclose(st.levy_stable.cdf(law.ppf(u), alpha, beta), u, rtol=1e-9)
    np.testing.assert_allclose(st.levy_stable.sf(law.isf(u), alpha, beta), u, rtol=1e-9)


@pytest.mark.parametrize(
    ("alpha", "beta", "upper"), [(1.5, -1.0, True), (1.0, 1.0, False), (0.7, 1.0, False)]
)
def test_stable_thin_tail_quantiles_match_scipy(alpha, beta, upper):
    # the light side of a one-sided law: P decays like exp(-c |z|^(alpha/|alpha-1|)) (alpha=1:
    # doubly exponentially) or reaches the support's end; scipy is good to ~3e-8 there
    law = stable_law(alpha, beta)
    u = np.array([1e-9, 1e-6])
    if upper:
        p = st.levy_stable.sf(law.isf(u), alpha, beta)
    else:
        q = law.ppf(u)
        p = st.levy_stable.cdf(q, alpha, beta)
        if alpha < 1:
            assert np.all(q > 0)  # S1(alpha < 1, beta = 1) lives on (0, inf)
    np.testing.assert_allclose(p, u, rtol=1e-7)


@pytest.mark.parametrize(("alpha", "beta"), [(1.7, 0.0), (1.3, 0.5), (1.0, -0.3), (0.7, 0.6)])
def test_stable_far_tail_is_pareto(alpha, beta):
    # P(Z > z) ~ C (1 + beta) z^-alpha, C = Gamma(alpha) sin(pi alpha / 2) / pi: the relative
    # quantile error of the Pareto law shrinks towards u -> 0 on both sides
    law = stable_law(alpha, beta)
    c = math.gamma(alpha) * math.sin(math.pi * alpha / 2) / math.pi
    u = np.array([1e-4, 1e-6, 1e-8, 2.0**-33])
    for q, weight in ((law.isf(u), 1 + beta), (-law.ppf(u), 1 - beta)):
        err = np.abs(q / (c * weight / u) ** (1 / alpha) - 1)
        assert np.all(np.diff(err) < 0), err
        assert err[-1] < 1e-8, err


def test_stable_tail_quantiles_match_series():
    u = np.array([1e-6, 1e-8, 2.0**-33])
    # alpha != 1: the series of P(Z > z) in z^-alpha (convergent for alpha < 1, asymptotic above)
    for alpha, beta in [(1.7, 0.0), (1.3, 0.5), (1.5, -0.5), (0.7, 0.6)]:
        law, terms = stable_law(alpha, beta), 30 if alpha < 1 else 8
        np.testing.assert_allclose(tail_series(law.isf(u), alpha, beta, terms), u, rtol=1e-9)
        np.testing.assert_allclose(tail_series(-law.ppf(u), alpha, -beta, terms), u, rtol=1e-9)
    # alpha = 1: P(Z > z) = a / (pi z) + 2 a beta (log z - 1 + gamma_E) / (pi z)^2
    # + O(log^2 z / z^3), a = 1 + beta
    for beta in (-0.3, 1.0):
        z, a = stable_law(1.0, beta).isf(u), 1 + beta
        two_terms = (
            a / (math.pi * z) + 2 * a * beta * (np.log(z) - 1 + np.euler_gamma) / (math.pi * z) ** 2
        )
        np.testing.assert_allclose(two_terms, u, rtol=1e-9)


def test_stable_cdf_is_continuous_through_alpha_one():
    # the S0 law (S1 shifted by beta tan(pi alpha / 2)) is continuous in alpha, so the mean of
    # the alpha = 1 +- delta cdfs (Nolan's alpha != 1 integral) must meet the alpha = 1 cdf (its
    # own integral, another code path) to O(delta^2): measured 1.3e-7 and 1.3e-9
    beta, x = 0.6, np.array([-3.0, -0.5, 0.2, 1.0, 4.0, 30.0])
    at_one = stable_law(1.0, beta).cdf(x)
    for delta, tol in ((1e-3, 4e-7), (1e-4, 4e-9)):
        mean = np.mean(
            [
                StableLaw(a, beta).cdf(x + beta * math.tan(math.pi * a / 2))
                for a in (1 + delta, 1 - delta)
            ],
            axis=0,
        )
        assert np.max(np.abs(mean - at_one)) < tol


@pytest.mark.parametrize(
    ("alpha", "beta", "bound"), [(1.7, 0.0, 1e-5), (1.0, 1.0, 1e-5), (0.7, -1.0, 2e-5)]
)
def test_stable_table_error(alpha, beta, bound):
    law, table = stable_law(alpha, beta), stable_table(alpha, beta)
    assert alpha >= TABLE_ALPHA_MIN
    # linear interpolation errs most at cell midpoints; measured 2.3e-6, 5.7e-6, 8.3e-6
    assert table_error(table, law.ppf, law.isf, points_per_cell=2) < bound
    u = np.array([2.0**-33])
    for upper, exact in ((False, law.ppf(u)), (True, law.isf(u))):
        far = table_quantile_host(table, u, upper)
        np.testing.assert_allclose(far - table.median, exact - table.median, rtol=1e-5)
    if beta == -1.0 and alpha < 1:
        # bounded above by 0: the upper quantile climbs towards it, in the table too
        u = np.array([1e-3, 1e-6, 2.0**-33])
        for q in (law.isf(u), table_quantile_host(table, u, upper=True)):
            assert np.all(np.diff(q) > 0) and q[-1] < 0, q


def test_garch_innovations_are_standardised_t():
    model = config.GarchTModel(name="garch_t", omega=1e-5, alpha=0.1, beta=0.85, nu=4.0)
    x = draw(model)
    h = np.empty_like(x)
    h[:, 0] = model.omega / (1 - model.alpha - model.beta)
    for t in range(1, x.shape[1]):
        h[:, t] = model.omega + model.alpha * x[:, t - 1] ** 2 + model.beta * h[:, t - 1]
    z = (x / np.sqrt(h)).ravel()
    result = st.kstest(z, st.t(model.nu, scale=math.sqrt((model.nu - 2) / model.nu)).cdf)
    assert result.pvalue > P_MIN, result
    # volatility clustering: squared increments are autocorrelated
    sq = x**2
    lag1 = np.corrcoef(sq[:, 1:].ravel(), sq[:, :-1].ravel())[0, 1]
    assert lag1 > 0.05


# --- jump models against independent numpy simulations of the same law --------------------------


def _numpy_compound_poisson(rng, lam_dt, size, draw_jumps):
    counts = rng.poisson(lam_dt, size)
    total = np.zeros(size)
    for k in range(1, counts.max() + 1):
        has = counts >= k
        total[has] += draw_jumps(rng, has.sum())
    return total


JUMPS = {
    "merton": config.MertonModel(name="merton", sigma=0.4, lam=60.0, mu_j=-0.03, sigma_j=0.05),
    "kou": config.KouModel(name="kou", sigma=0.4, lam=60.0, p=0.3, eta_up=20.0, eta_down=12.0),
}


def _jump_sampler(model):
    if model.name == "merton":
        return lambda rng, n: rng.normal(model.mu_j, model.sigma_j, n)

    def kou(rng, n):
        up = rng.random(n) < model.p
        return np.where(
            up, rng.exponential(1 / model.eta_up, n), -rng.exponential(1 / model.eta_down, n)
        )

    return kou


@pytest.mark.parametrize("name", sorted(JUMPS))
def test_jump_increments_match_numpy_simulation(name):
    model = JUMPS[name]
    dt = 7 * DAY  # about 1.15 jumps per step
    x = draw(model, dt=dt).ravel()
    rng = np.random.default_rng(7)
    ref = model.mu * dt + model.sigma * math.sqrt(dt) * rng.standard_normal(x.size)
    ref += _numpy_compound_poisson(rng, model.lam * dt, x.size, _jump_sampler(model))
    result = st.ks_2samp(x, ref)
    assert result.pvalue > P_MIN, result


def test_jump_moments():
    dt = 7 * DAY
    for model in JUMPS.values():
        x = draw(model, dt=dt).ravel()
        m_dt = model.lam * dt
        if model.name == "merton":
            mean_j, second_j = model.mu_j, model.mu_j**2 + model.sigma_j**2
        else:
            mean_j = model.p / model.eta_up - (1 - model.p) / model.eta_down
            second_j = 2 * model.p / model.eta_up**2 + 2 * (1 - model.p) / model.eta_down**2
        mean = m_dt * mean_j
        var = model.sigma**2 * dt + m_dt * second_j
        se_mean = math.sqrt(var / x.size)
        se_var = math.sqrt((np.mean((x - x.mean()) ** 4) - x.var() ** 2) / x.size)
        assert abs(x.mean() - mean) < 5 * se_mean, model.name
        assert abs(x.var() - var) < 5 * se_var, model.name


def test_hawkes_matches_numpy_euler_scheme():
    model = config.HawkesModel(
        name="hawkes", sigma=0.3, lam0=20.0, alpha=60.0, beta=80.0, mu_j=-0.03, sigma_j=0.04
    )
    steps, n = STEPS, N
    x = draw(model)
    rng = np.random.default_rng(11)
    lam = np.full(n, model.lam0)
    ref = np.empty((n, steps))
    decay = math.exp(-model.beta * DAY)
    for t in range(steps):
        count = rng.poisson(lam * DAY)
        sd = np.sqrt(model.sigma**2 * DAY + count * model.sigma_j**2)
        ref[:, t] = count * model.mu_j + sd * rng.standard_normal(n)
        lam = model.lam0 + decay * (lam - model.lam0 + model.alpha * count)
    for a, b in ((x[:, -1], ref[:, -1]), (x.sum(1), ref.sum(1))):
        result = st.ks_2samp(a, b)
        assert result.pvalue > P_MIN, result
    # self-excitation: a jump today makes one tomorrow more likely (lag-1 dependence of |x|)
    big = np.abs(x) > 4 * model.sigma * math.sqrt(DAY)
    p_after = big[:, 1:][big[:, :-1]].mean()
    assert p_after > 1.5 * big.mean()


# --- moments, tails -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        config.GbmModel(name="gbm", sigma=0.6, mu=0.2),
        config.StudentTModel(name="student_t", nu=6.0, sigma=0.6, mu=0.2),
    ],
    ids=["gbm", "student_t"],
)
def test_mean_and_variance(model):
    x = draw(model).ravel()
    mean, var = model.mu * DAY, model.sigma**2 * DAY
    se_var = math.sqrt((np.mean((x - x.mean()) ** 4) - x.var() ** 2) / x.size)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / x.size)
    assert abs(x.var() - var) < 5 * se_var


def _hill(x, k):
    """Hill estimate of the tail index from the k largest of |x|."""
    top = np.sort(np.abs(x))[-(k + 1) :]
    return 1.0 / np.mean(np.log(top[1:] / top[0]))


@pytest.mark.parametrize("nu", [1.5, 2.5])
def test_student_t_tail_index_by_hill(nu):
    model = config.StudentTModel(name="student_t", nu=nu, scale=0.5)
    x = draw_many(model, 8).ravel()  # 524288 draws
    k = 2000  # sd of the estimate ~ nu / sqrt(k) = 2.2 %; second-order bias of t is small here
    assert abs(_hill(x, k) / nu - 1) < 0.1


# --- risk-neutral mode --------------------------------------------------------------------------

RISK_NEUTRAL = [
    config.GbmModel(name="gbm", sigma=0.8),
    config.StudentTModel(name="student_t", nu=2.5, scale=0.6, clip=15.0),
    config.StudentTModel(name="student_t", nu=4.0, sigma=0.8),
    config.MertonModel(name="merton", sigma=0.3, lam=20.0, mu_j=-0.08, sigma_j=0.1),
    config.KouModel(name="kou", sigma=0.3, lam=20.0, p=0.4, eta_up=8.0, eta_down=6.0),
    config.GarchTModel(name="garch_t", omega=2e-5, alpha=0.1, beta=0.85, nu=3.0),
    config.HawkesModel(
        name="hawkes", sigma=0.3, lam0=10.0, alpha=30.0, beta=40.0, mu_j=-0.1, sigma_j=0.1
    ),
    config.StableModel(name="stable", alpha=1.6, beta=-0.2, scale=0.3, clip=10.0),
]


@pytest.mark.parametrize("model", RISK_NEUTRAL, ids=lambda m: f"{m.name}")
def test_risk_neutral_martingale(model):
    model = model.model_copy(update={"mode": "risk_neutral", "r": 0.05, "s0": 50_000.0})
    steps, chunks = STEPS, 6
    logs = np.concatenate(
        [
            np.asarray(log_prices(KEY, model, jnp.arange(c * N, (c + 1) * N), steps, DAY))
            for c in range(chunks)
        ]
    ).astype(np.float64)
    ratio = np.exp(logs[:, -1] - math.log(model.s0) - model.r * steps * DAY)
    se = ratio.std() / math.sqrt(ratio.size)
    assert abs(ratio.mean() - 1) < 5 * se, (ratio.mean(), se)
    # and the test has teeth: the physical drift (mu = r) is visibly off for these models
    assert abs(risk_neutral_drift(model, DAY) - model.r * DAY) * steps > 2 * se or (
        model.name == "stable"
    )


def test_risk_neutral_drift_closed_forms():
    gbm = config.GbmModel(name="gbm", sigma=0.5, r=0.03)
    assert risk_neutral_drift(gbm, 0.25) == pytest.approx(0.03 * 0.25 - 0.125 * 0.25)
    # a clipped t with a huge nu is Gaussian: its compensator tends to sigma^2 dt / 2
    t = config.StudentTModel(name="student_t", nu=1e6, sigma=0.5, r=0.03)
    assert risk_neutral_drift(t, 0.25) == pytest.approx(risk_neutral_drift(gbm, 0.25), rel=1e-5)


# --- determinism, dtypes, compilation -----------------------------------------------------------

ALL_MODELS = [
    config.GbmModel(name="gbm"),
    config.StudentTModel(name="student_t", nu=3.0, scale=0.5),
    config.MertonModel(name="merton"),
    config.KouModel(name="kou"),
    config.GarchTModel(name="garch_t"),
    config.HawkesModel(name="hawkes"),
    config.StableModel(name="stable"),
]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.name)
def test_chunking_is_bit_identical(model):
    # two overlapping chunks: paths 2048..4095 sit at different positions in each
    first, second = draw(model), draw(model, start=N // 2)
    np.testing.assert_array_equal(first[N // 2 :], second[: N // 2])
    # and a path depends on its global index, not on its position in the chunk
    assert not np.array_equal(first[: N // 2], first[N // 2 :])


def test_chunk_sizes_do_not_matter():
    model = config.StudentTModel(name="student_t", nu=3.0, scale=0.5)
    whole = draw(model, n=1000, steps=8)
    parts = np.concatenate([draw(model, n=500, steps=8), draw(model, n=500, steps=8, start=500)])
    np.testing.assert_array_equal(whole, parts)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.name)
def test_float64(model):
    model = model.model_copy(update={"mode": "risk_neutral"})
    x32 = draw(model)
    with jax.enable_x64(True):
        x = log_increments(KEY, model, jnp.arange(N), STEPS, DAY, jnp.float64)
        assert x.dtype == jnp.float64 and x.shape == (N, STEPS)
    x = np.asarray(x)
    assert np.all(np.isfinite(x))
    if model.name in ("student_t", "garch_t", "stable", "hawkes"):
        # these use the same uint32 bits in both dtypes: float32 is float64 to rounding
        np.testing.assert_allclose(x32, x, rtol=2e-3, atol=2e-5 * np.abs(x).max())


def test_float64_needs_x64():
    # x64 off for this test whatever ran before it in the process (a float64 run turns it on)
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="x64"):
            log_increments(KEY, ALL_MODELS[0], jnp.arange(4), 4, DAY, jnp.float64)
    finally:
        jax.config.update("jax_enable_x64", before)


def test_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        log_increments(KEY, ALL_MODELS[0], jnp.arange(4), 0, DAY)
    with pytest.raises(ValueError, match="dt"):
        log_increments(KEY, ALL_MODELS[0], jnp.arange(4), 4, -1.0)
    with pytest.raises(TypeError, match="config"):
        log_increments(KEY, {"name": "gbm"}, jnp.arange(4), 4, DAY)


SWEEPS = {
    "gbm": [{"sigma": 0.3}, {"sigma": 0.9, "mu": 0.1}],
    "student_t": [{"nu": 2.2}, {"nu": 7.0, "scale": 0.2}],
    # lam T stays within one jump-slot bucket (16 slots); crossing one recompiles, by design
    "merton": [{"lam": 6.0}, {"lam": 7.0, "mu_j": 0.1, "sigma_j": 0.2}],
    "kou": [{"p": 0.1}, {"p": 0.9, "eta_up": 3.0}],
    "garch_t": [{"nu": 3.0}, {"alpha": 0.2, "beta": 0.7, "nu": 9.0}],
    "hawkes": [{"alpha": 1.0}, {"alpha": 30.0, "beta": 50.0}],
    "stable": [{"alpha": 1.2}, {"alpha": 1.0, "beta": 0.5}],
}


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.name)
def test_parameter_sweep_compiles_once(model):
    for mode in ("physical", "risk_neutral"):
        draw(model.model_copy(update={"mode": mode}))  # compiled (or reused) here
        before = TRACE_COUNT[model.name]
        for update in SWEEPS[model.name]:
            draw(model.model_copy(update={**update, "mode": mode}))
        assert TRACE_COUNT[model.name] == before, f"{model.name} retraced for new parameters"


def test_bench_samplers_reports_every_sampler(monkeypatch):
    # the full table is measured by hand (python -m tailrisk.paths._bench); here two models
    # keep the compile time down
    from tailrisk.paths import _bench

    monkeypatch.setattr(_bench, "BENCH_MODELS", {k: _bench.BENCH_MODELS[k] for k in ("gbm", "kou")})
    rows = bench_samplers(n_paths=64, steps=8, repeats=2)
    names = [r["sampler"] for r in rows]
    assert names == ["jax.random.normal", "jax.random.t", "jax.random.gamma", "gbm", "kou"]
    for r in rows:
        assert r["draws_per_s"] > 0 and r["median_s"] > 0
        assert set(r) == {"sampler", "draws_per_s", "ratio_to_normal", "median_s"}
    assert rows[0]["ratio_to_normal"] == pytest.approx(1.0)
