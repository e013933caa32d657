"""Many venues: linked by hedged traders, custodians, credit lines and runs, cleared on every path.

MODEL.md section 5; user docs in docs/contagion.md.
"""

from ._clearing import METHODS as METHODS
from ._clearing import Clearing as Clearing
from ._clearing import clear as clear
from ._reference import clear_reference as clear_reference
