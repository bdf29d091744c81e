"""bot.slack.ack_gate.AckGate: post-ack work waits for a burst of acks, never for ever."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.slack.ack_gate import AckGate


def _after_acks(gate: AckGate, events: list[str]) -> threading.Thread:
    def work() -> None:
        gate.wait_quiet()
        events.append("post-ack work")

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


@contextmanager
def _acks_without_end(gate: AckGate) -> Iterator[None]:
    """Acks one after another, never quiet, until the block ends."""
    stop = threading.Event()

    def acks() -> None:
        while not stop.is_set():
            with gate.acking():
                time.sleep(0.001)

    acking = threading.Thread(target=acks, daemon=True)
    acking.start()
    try:
        yield
    finally:
        stop.set()
        acking.join(10)


def test_post_ack_work_waits_for_the_ack_in_flight():
    gate, events = AckGate(patience=10, quiet=0.0), []
    with gate.acking():
        work = _after_acks(gate, events)
        work.join(0.2)
        events.append("ack made")
    work.join(10)
    assert events == ["ack made", "post-ack work"]


def test_an_ack_arriving_in_the_quiet_window_goes_first_too():
    # The requests of a burst arrive a little apart: between two acks there is a moment with
    # none in flight. Work that started then would share the GIL with the second ack.
    gate, events = AckGate(patience=10, quiet=1.0), []
    with gate.acking():
        work = _after_acks(gate, events)
        events.append("first ack made")
    time.sleep(0.1)  # the next request is still being read
    with gate.acking():
        time.sleep(0.05)
        events.append("second ack made")
    work.join(10)
    assert events == ["first ack made", "second ack made", "post-ack work"]


def test_acks_that_never_stop_delay_post_ack_work_by_the_patience_only():
    gate, events = AckGate(patience=0.05, quiet=0.01), []
    with _acks_without_end(gate):
        _after_acks(gate, events).join(10)
        assert events == ["post-ack work"]


def test_in_a_long_stream_of_acks_post_ack_work_waits_once_per_burst_not_once_per_piece():
    # Were each piece to wait `patience` for itself, a pool's threads would carry out at most
    # one pool of work per `patience` while requests keep coming.
    gate, events = AckGate(patience=1.0, quiet=10.0), []

    def five_pieces() -> None:
        for _ in range(5):
            gate.wait_quiet()
            events.append("post-ack work")

    with _acks_without_end(gate):
        time.sleep(1.2)  # the burst began more than `patience` ago
        work = threading.Thread(target=five_pieces, daemon=True)
        work.start()
        work.join(3.0)  # five waits of `patience` each would take 5 s
        assert events == ["post-ack work"] * 5


def test_with_no_ack_at_all_post_ack_work_starts_at_once():
    gate, events = AckGate(patience=10, quiet=5.0), []
    _after_acks(gate, events).join(3.0)  # less than the quiet window: no ack was ever made
    assert events == ["post-ack work"]
