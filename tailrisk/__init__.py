"""tailrisk: Monte Carlo tail risk of perpetual-futures venues (liquidations, insurance fund, ADL)."""

__version__ = "0.1.0"
