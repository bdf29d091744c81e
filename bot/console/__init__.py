"""The local console: act as Slack users in a terminal, against the whole bot on loopback.

`python -m bot` with no Slack credentials (or `python -m bot console [--script FILE]`)
lands here. Every line becomes the signed request Slack would send, through the Slack
stand-in's driver, so the console exercises exactly the code Slack would reach.
"""

from bot.console.runner import console_stack, parse_script, run_console, run_script, run_split

__all__ = ["console_stack", "parse_script", "run_console", "run_script", "run_split"]
