"""Experiment configuration: TOML files parsed into frozen, validated parameter objects.

One module a table: :mod:`.run` (``[run]``), :mod:`.models` (``[model]``), :mod:`.venue`
(``[venue]``, ``[venue.population]``), :mod:`.replay` (``[replay]``), :mod:`.pricing`
(``[pricing]``), :mod:`.experiment` (the whole file: ``[analysis]``,
``[sweep]``, parsing, the hash); :mod:`.errors` holds :class:`ConfigError`. Every problem in a
file is reported at once, one line each, naming the file, the key, the value and what is
allowed. Nothing downstream ever sees an unvalidated value.

Units: prices in USD, times in years (``dt`` also accepts ``"1d"``, ``"8h"``, ``"5min"``),
rates and volatilities annualised, quantities in contracts (units of the underlying).
"""

from .claim import CheckConfig as CheckConfig
from .claim import ClaimConfig as ClaimConfig
from .errors import ConfigError as ConfigError
from .experiment import AnalysisConfig as AnalysisConfig
from .experiment import Experiment as Experiment
from .experiment import SweepConfig as SweepConfig
from .experiment import config_hash as config_hash
from .experiment import load_config as load_config
from .experiment import parse_config as parse_config
from .experiment import sweep_points as sweep_points
from .experiment import variant_points as variant_points
from .models import MODEL_NAMES as MODEL_NAMES
from .models import GarchTModel as GarchTModel
from .models import GbmModel as GbmModel
from .models import HawkesModel as HawkesModel
from .models import KouModel as KouModel
from .models import MertonModel as MertonModel
from .models import ModelConfig as ModelConfig
from .models import StableModel as StableModel
from .models import StudentTModel as StudentTModel
from .pricing import PricingConfig as PricingConfig
from .replay import ReplayConfig as ReplayConfig
from .run import DEFAULT_CHUNK as DEFAULT_CHUNK
from .run import DT_UNITS as DT_UNITS
from .run import YEAR_DAYS as YEAR_DAYS
from .run import RunConfig as RunConfig
from .run import default_chunk_size as default_chunk_size
from .study import StudyConfig as StudyConfig
from .venue import CONTRACT_POLICIES as CONTRACT_POLICIES
from .venue import PNL_POLICIES as PNL_POLICIES
from .venue import POLICIES as POLICIES
from .venue import SETTLEMENT_POLICIES as SETTLEMENT_POLICIES
from .venue import PopulationConfig as PopulationConfig
from .venue import ProbeConfig as ProbeConfig
from .venue import VenueConfig as VenueConfig
