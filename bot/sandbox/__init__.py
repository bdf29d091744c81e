"""An in-memory Communities API on loopback HTTP: same contract, seeded communities, faults.

Used when COMMUNITIES_API_URL is unset, by `python -m bot sandbox`, and by the tests.
"""

from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxFaults, SandboxState

__all__ = ["SandboxFaults", "SandboxServer", "SandboxState"]
