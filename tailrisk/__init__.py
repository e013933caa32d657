"""tailrisk: Monte Carlo tail risk of perpetual-futures venues.

Liquidations, insurance funds and auto-deleveraging (ADL) over fat-tailed price paths.
"""

__version__ = "0.1.0"
