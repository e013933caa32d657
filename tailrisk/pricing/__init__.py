"""Options on damped assets (MODEL.md 4): prices, smiles, Greeks and the price of ADL.

A probe's damped asset is the price at which its position is effectively settled,
``A_T = E + s x (damped payoff per unit)``; the undamped asset is ``S_T``. This package prices
European calls, puts and digitals on both from one venue simulation (every probe at every
maturity), with Monte Carlo standard errors, the undamped option as a control variate, Black
implied volatilities, Greeks and the price of ADL, and exposes the closed forms it is checked
against (Black–Scholes, Merton's series, the closed market's barrier options with rebate).

Rooms: ``_black`` (Black–Scholes and implied volatility), ``_merton``, ``_barrier``,
``_monte_carlo`` (the strike-grid estimator), ``_damped_assets`` (from the venue kernel),
``_prices`` (the price grid), ``_adl_price``, ``_greeks``, ``api`` (``price_options``).
No jax at import time.
"""

from ._adl_price import adl_price as adl_price
from ._barrier import BGK_BETA as BGK_BETA
from ._barrier import barrier_hit_probability as barrier_hit_probability
from ._barrier import damped_barrier_price as damped_barrier_price
from ._black import KINDS as KINDS
from ._black import bs_greeks as bs_greeks
from ._black import bs_price as bs_price
from ._black import implied_vol as implied_vol
from ._black import implied_vol_reason as implied_vol_reason
from ._damped_assets import DampedAssets as DampedAssets
from ._damped_assets import damped_assets as damped_assets
from ._greeks import bump_greeks as bump_greeks
from ._greeks import pathwise_greeks as pathwise_greeks
from ._merton import merton_price as merton_price
from ._monte_carlo import estimate as estimate
from ._monte_carlo import strike_sums as strike_sums
from ._prices import closed_form_price as closed_form_price
from ._prices import price_grid as price_grid
from .api import PricingResult as PricingResult
from .api import price_options as price_options
