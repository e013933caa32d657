"""Many venues: linked by hedged traders, custodians, credit lines and runs, cleared on every path.

User docs: docs/contagion.md.
"""

from ._clearing import METHODS as METHODS
from ._clearing import Clearing as Clearing
from ._clearing import clear as clear
from ._metrics import network_summary as network_summary
from ._metrics import summary_lines as summary_lines
from ._metrics import systemic_loss as systemic_loss
from ._reference import clear_reference as clear_reference
from ._rounds import Outcomes as Outcomes
from ._rounds import Topology as Topology
from ._rounds import network_rounds as network_rounds
from .api import NetworkResult as NetworkResult
from .api import run_network as run_network
