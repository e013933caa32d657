"""Studies: what runs many simulations on common random numbers and summarises them.

- :mod:`.variants`: several venue set-ups on one set of price paths (the shared engine);
- :mod:`.policy_comparison`: the nine ADL policies side by side;
- :mod:`.sweep`: grids over config keys, one tidy table;
- :mod:`.venue_risk`: what a trader's position on a venue risks (haircut budget);
- :mod:`.frontier`: insolvency against the share of secretly exempt accounts;
- :mod:`.hyperliquid`: the 2025-10-10 Hyperliquid ADL data beside the model;
- :mod:`.replay`: the venue over the recorded prices of 2025-10-10, compared with Hyperliquid's
  record (a package: path, book depth, population, bootstrap, comparison).

Each module is imported on its own (``from tailrisk.studies.sweep import run_sweep``); this
package imports none of them, so that importing one study does not load the others.
"""
