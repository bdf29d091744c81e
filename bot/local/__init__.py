"""Local tools on top of the runtime: the embedded sandbox API and the whole bot on
loopback (LocalStack) for the console, the end-to-end tests and the benchmarks."""

from bot.local.embedded import start_sandbox
from bot.local.stack import LocalStack

__all__ = ["LocalStack", "start_sandbox"]
