"""One venue: account populations, liquidation engine, insurance fund and ADL policies."""

from ._schema import (
    CONTRACT_POLICIES as CONTRACT_POLICIES,
    PNL_POLICIES as PNL_POLICIES,
    POLICIES as POLICIES,
    SETTLEMENT_POLICIES as SETTLEMENT_POLICIES,
    PopulationConfig as PopulationConfig,
    ProbeConfig as ProbeConfig,
    VenueConfig as VenueConfig,
)
