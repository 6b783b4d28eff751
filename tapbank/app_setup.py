"""Wiring: settings, database, extensions, blueprints, error handlers and commands."""

import re
import uuid
from pathlib import Path

from flask import Flask, current_app, g, request
from flask_swagger_ui import get_swaggerui_blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from tapbank.config import Config, config_from_environment
from tapbank.database_options import engine_options
from tapbank.database_roles import database_urls
from tapbank.errors import ApiError, register_error_handlers
from tapbank.extensions import db, migrate
from tapbank.idle_ping import ping_when_idle
from tapbank.keys import development_admin_key
from tapbank.logs import bind_request, configure_logging, unbind_request
from tapbank.metrics import init_metrics
from tapbank.schema_version import MIGRATIONS_DIR
from tapbank.web import register_pages

BODY_METHODS = {"POST", "PUT", "PATCH"}
CALLERS_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def build_app(config: Config | None = None) -> Flask:
    """Create and configure the Flask app."""
    app = Flask(__name__, instance_path=str(Path.cwd() / "instance"))
    config = config or config_from_environment()
    config.check()
    app.config.from_object(config)
    _choose_database(app)
    _choose_admin_key(app)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_when_idle(engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    _init_api(app)
    register_pages(app)
    register_error_handlers(app)
    configure_logging(app.config["ENV_NAME"])
    init_metrics(app)
    _trust_proxies(app)
    app.before_request(_tag_request)
    app.before_request(_require_json_body)
    app.after_request(_return_request_id)
    app.teardown_request(lambda _error: unbind_request())

    from tapbank.cli import register_commands

    register_commands(app)
    return app


def _choose_database(app: Flask) -> None:
    """The runtime role's URL for the app, the owner's for migrations (database_roles.py)."""
    urls = database_urls(
        app.config.get("SQLALCHEMY_DATABASE_URI"),
        app.config.get("TAPBANK_MIGRATION_DATABASE_URL"),
        Path(app.instance_path),
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = urls.runtime
    app.config["TAPBANK_MIGRATION_DATABASE_URL"] = urls.owner
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)


def _choose_admin_key(app: Flask) -> None:
    if app.config["TAPBANK_ADMIN_KEY"] or app.config["ENV_NAME"] != "development":
        return
    key, _ = development_admin_key(Path(app.instance_path))
    app.config["TAPBANK_ADMIN_KEY"] = key


def _init_api(app: Flask) -> None:
    from tapbank.api import register_blueprints
    from tapbank.api.base import Api
    from tapbank.health import health

    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "info": {
                "description": "Two phones tap to pay: each sends its half; tapbank pairs "
                "them by key and settles the transfer in a double-entry ledger. The whole "
                "reference, with a worked example of every route, is docs/api.md in the "
                "project's repository."
            },
        },
    )
    register_blueprints(Api(app))
    app.register_blueprint(health)
    app.register_blueprint(
        get_swaggerui_blueprint("/api/docs", "/api/openapi.json", config={"app_name": "tapbank"}),
        url_prefix="/api/docs",
    )


def _tag_request() -> None:
    g.pop("principal", None)  # g outlives a request when a caller holds an app context open
    incoming = request.headers.get("X-Request-ID", "")
    # Only what can go into a log line and a header as it is: no quote, backslash or space.
    g.request_id = incoming if CALLERS_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    bind_request(g.request_id)


def _return_request_id(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def _trust_proxies(app: Flask) -> None:
    """Behind TAPBANK_TRUSTED_PROXIES reverse proxies, take the client's address from them."""
    hops = app.config["TAPBANK_TRUSTED_PROXIES"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _require_json_body() -> None:
    """A body that is not JSON is a 400 before any view or schema sees it."""
    if request.method not in BODY_METHODS or not request.content_length and not request.stream:
        return
    raw = request.get_data(cache=True)
    if not raw:
        return
    if _cut_at_the_limit(raw):
        raise RequestEntityTooLarge()
    if not request.is_json or _parsed_body() is None:
        raise ApiError(400, "invalid_json", "The request body must be JSON (application/json).")


def _parsed_body() -> object | None:
    """The JSON body, or None when it does not parse (nested too deep for the parser included)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def _cut_at_the_limit(raw: bytes) -> bool:
    """A body sent without Content-Length (chunked) is stopped at the limit without an error."""
    if request.content_length is not None or len(raw) < current_app.config["MAX_CONTENT_LENGTH"]:
        return False
    return bool(request.environ["wsgi.input"].read(1))
