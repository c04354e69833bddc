"""Moved to :mod:`sim.rtlsim`; this name stays while in-flight tests still import it."""
import sys

import sim.rtlsim

sys.modules[__name__] = sim.rtlsim
