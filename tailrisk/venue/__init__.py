"""One venue: account populations, liquidation engine, insurance fund and ADL policies."""

from ..config.venue import CONTRACT_POLICIES as CONTRACT_POLICIES
from ..config.venue import PNL_POLICIES as PNL_POLICIES
from ..config.venue import POLICIES as POLICIES
from ..config.venue import SETTLEMENT_POLICIES as SETTLEMENT_POLICIES
from ..config.venue import PopulationConfig as PopulationConfig
from ..config.venue import ProbeConfig as ProbeConfig
from ..config.venue import VenueConfig as VenueConfig
from ._accounts import Accounts as Accounts
from .population import PopulationError as PopulationError
from .population import build_population as build_population
from .population import generate_population as generate_population
from .population import load_population_csv as load_population_csv
from .reference import ReferenceResult as ReferenceResult
from .reference import VenueEvent as VenueEvent
from .reference import simulate_path_reference as simulate_path_reference
from .reference import water_fill as water_fill
