"""The ack for listeners whose whole work is lazy: clicks and events."""

from slack_bolt import Ack


def ack_at_once(ack: Ack) -> None:
    ack()
