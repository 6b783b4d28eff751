"""The outage watch: one line when the database goes and one when it returns, and pauses
between tries that grow to a bound."""

import logging

from tapbank.scheduler.outage import (
    FIRST_PAUSE_SECONDS,
    LONGEST_PAUSE_SECONDS,
    OutageWatch,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tries_pause_longer_after_each_failed_try_up_to_a_bound():
    clock = Clock()
    watch = OutageWatch(clock)
    pauses = []
    for _ in range(8):
        assert watch.may_try()
        watch.lost("refused")
        pauses.append(watch.next_try - clock.now)
        assert not watch.may_try()
        clock.now = watch.next_try

    assert pauses[0] == FIRST_PAUSE_SECONDS
    assert pauses == sorted(pauses)
    assert max(pauses) == LONGEST_PAUSE_SECONDS


def test_runs_failing_together_count_as_one_try():
    clock = Clock()
    watch = OutageWatch(clock)
    watch.lost("refused")
    clock.now = watch.next_try
    for _ in range(3):
        watch.lost("refused")

    assert watch.next_try - clock.now == 2 * FIRST_PAUSE_SECONDS


def test_an_outage_is_logged_when_it_begins_and_when_it_ends(caplog):
    clock = Clock()
    watch = OutageWatch(clock)
    with caplog.at_level(logging.INFO, logger="tapbank.scheduler.outage"):
        watch.reached()
        for _ in range(5):
            watch.lost("refused")
            clock.now = watch.next_try
        watch.reached()
        watch.reached()

    assert [record.levelname for record in caplog.records] == ["WARNING", "INFO"]
    assert "refused" in caplog.records[0].getMessage()
    assert watch.may_try() and not watch.ongoing
