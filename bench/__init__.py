"""Benchmarks of the whole bot, run the way production runs it.

`python -m bench [--quick | --smoke]` starts a real redis-server, the Communities API
sandbox and the bot (`python -m bot web` plus several `python -m bot worker`) as
processes of their own on 127.0.0.1, plays Slack towards them with the stand-in and the
signed-request driver, prints a table and writes `bench/results/latest.json`.
"""
