"""Logs: readable lines for a person at a development terminal, JSON lines everywhere else."""

import json
import logging
import os
import re
import select
import time
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler

from tapbank import logs
from tapbank.logs import (
    QUIET_LOGGERS,
    bind_request,
    build_handler,
    configure_logging,
    quiet_chatty_loggers,
    unbind_request,
    wants_console,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal:
    """A real pseudo-terminal: a text stream on its slave end, read back from its master."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.stream = open(slave, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def output(self) -> str:
        self.stream.flush()
        chunks = []
        while select.select([self.master], [], [], 0.2)[0]:
            chunks.append(os.read(self.master, 65536))
        return b"".join(chunks).decode().replace("\r\n", "\n")  # the tty turns \n into \r\n

    def close(self) -> None:
        self.stream.close()
        os.close(self.master)


class File:
    """What stderr is when redirected to a file: not a terminal."""

    def __init__(self, path) -> None:
        self.path = path
        self.stream = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def output(self) -> str:
        self.stream.flush()
        return self.path.read_text()

    def close(self) -> None:
        self.stream.close()


@pytest.fixture
def terminal():
    term = Terminal()
    yield term
    term.close()


@pytest.fixture
def redirected(tmp_path):
    file = File(tmp_path / "stderr.log")
    yield file
    file.close()


@pytest.fixture
def logger():
    """A logger of the test's own, writing only to the handlers the test adds."""
    logger = logging.getLogger("tests.logs")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger
    logger.handlers.clear()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


@pytest.fixture
def saved_logging(monkeypatch):
    """A process that has not configured logging yet; the test's configuration is undone after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    was_configured, config = structlog.is_configured(), structlog.get_config()
    monkeypatch.setattr(logs, "_configured", False)
    for name in QUIET_LOGGERS:  # as a fresh process has them, whatever ran before in this one
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)
    if was_configured:
        structlog.configure(**config)
    else:
        structlog.reset_defaults()


def json_lines(text: str) -> list[dict]:
    """Every line as the JSON object it must be."""
    lines = text.splitlines()
    assert lines
    return [json.loads(line) for line in lines]


def is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def do_nothing() -> None:
    pass


def divide_by_zero() -> float:
    return 1 / 0


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def log_a_failure(logger: logging.Logger) -> None:
    try:
        divide_by_zero()
    except ZeroDivisionError:
        logger.exception("job %s failed", "reconcile")


def test_only_a_development_terminal_gets_the_console(terminal, redirected):
    assert wants_console("development", terminal.stream)
    assert not wants_console("development", redirected.stream)
    assert not wants_console("production", terminal.stream)
    assert not wants_console("testing", terminal.stream)


def test_a_closed_stream_is_no_terminal(terminal):
    terminal.stream.close()
    assert not wants_console("development", terminal.stream)


def test_a_person_at_a_development_terminal_reads_one_coloured_line_a_record(terminal, logger):
    logger.addHandler(build_handler("development", terminal.stream))
    logger.info("reconcile batch: taken=%d settled=%d failed=%d", 3, 2, 1)

    output = terminal.output()
    (line,) = output.splitlines()
    assert ANSI.search(line), "a terminal gets colours"
    assert not is_json(line)
    plain = ANSI.sub("", line)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[info\s*\] ", plain)
    assert "reconcile batch: taken=3 settled=2 failed=1" in plain
    assert "[tests.logs]" in plain


@pytest.mark.parametrize(
    ("env_name", "where"),
    [("development", "redirected"), ("production", "terminal"), ("testing", "terminal")],
)
def test_anywhere_else_every_record_is_one_json_object_a_line(request, logger, env_name, where):
    sink = request.getfixturevalue(where)
    logger.addHandler(build_handler(env_name, sink.stream))
    logger.info("reconcile batch: taken=%d", 3)
    log_a_failure(logger)

    batch, failure = json_lines(ANSI.sub("", sink.output()))
    assert batch["event"] == "reconcile batch: taken=3"
    assert batch["level"] == "info"
    assert batch["logger"] == "tests.logs"
    assert datetime.fromisoformat(batch["timestamp"]).utcoffset() == timedelta(0)
    assert failure["level"] == "error"
    assert failure["exception"].startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in failure["exception"]
    assert "\x1b[" not in sink.output()


def test_the_console_prints_a_failures_traceback(terminal, logger):
    logger.addHandler(build_handler("development", terminal.stream))
    log_a_failure(logger)

    plain = ANSI.sub("", terminal.output())
    first, *traceback = plain.splitlines()
    assert "[error" in first and "job reconcile failed" in first
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-1] == "ZeroDivisionError: division by zero"


@pytest.mark.parametrize("env_name", ["development", "production"])
def test_every_line_of_a_request_carries_its_id(terminal, redirected, logger, env_name):
    sink = terminal if env_name == "development" else redirected
    logger.addHandler(build_handler(env_name, sink.stream))
    bind_request("req-42")
    try:
        logger.info("transfer settled")
    finally:
        unbind_request()
    logger.info("after the request")

    first, second = ANSI.sub("", sink.output()).splitlines()
    if env_name == "development":
        assert "request_id=req-42" in first
        assert "request_id" not in second
    else:
        assert json.loads(first)["request_id"] == "req-42"
        assert "request_id" not in json.loads(second)


def test_apscheduler_keeps_its_warnings_and_errors_but_not_its_routine(saved_logging, redirected):
    root = logging.getLogger()
    root.handlers[:] = [build_handler("production", redirected.stream)]
    root.setLevel(logging.INFO)
    quiet_chatty_loggers()

    outcomes = []
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_listener(outcomes.append, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    scheduler.add_job(do_nothing, id="fine")
    scheduler.add_job(divide_by_zero, id="raises")
    past = datetime.now(UTC) - timedelta(seconds=30)
    scheduler.add_job(do_nothing, "date", run_date=past, misfire_grace_time=1, id="missed")
    scheduler.start()
    try:
        wait_until(lambda: len(outcomes) == 3 and not scheduler.get_jobs())
    finally:
        scheduler.shutdown(wait=True)

    records = [r for r in json_lines(redirected.output()) if r["logger"].startswith("apscheduler")]
    events = [r["event"] for r in records]
    assert {r["level"] for r in records} == {"warning", "error"}, events
    assert any("was missed by" in e for e in events)
    assert any("raised an exception" in e for e in events)
    assert not any("Running job" in e or "executed successfully" in e for e in events)


@pytest.mark.parametrize("env_name", ["development", "production"])
def test_configure_logging_sends_stdlib_and_structlog_records_to_the_stream(
    saved_logging, terminal, env_name
):
    configure_logging(env_name, stream=terminal.stream)
    logging.getLogger("tests.logs.stdlib").info("worker %s started", "w1")
    structlog.get_logger("tests.logs.native").info("batch settled", settled=7)

    stdlib_line, native_line = ANSI.sub("", terminal.output()).splitlines()
    if env_name == "development":
        assert "worker w1 started" in stdlib_line and not is_json(stdlib_line)
        assert "batch settled" in native_line and "settled=7" in native_line
    else:
        assert json.loads(stdlib_line)["event"] == "worker w1 started"
        assert json.loads(native_line) | {"timestamp": None} == {
            "event": "batch settled",
            "settled": 7,
            "level": "info",
            "logger": "tests.logs.native",
            "timestamp": None,
        }
    for name in QUIET_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING


def test_configure_logging_runs_once_a_process(saved_logging, terminal, redirected):
    configure_logging("production", stream=redirected.stream)
    handlers = logging.getLogger().handlers[:]
    configure_logging("development", stream=terminal.stream)

    assert logging.getLogger().handlers == handlers
    logging.getLogger("tests.logs.once").warning("still JSON")
    assert json_lines(redirected.output())[0]["event"] == "still JSON"
    assert terminal.output() == ""
