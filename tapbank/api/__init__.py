"""The HTTP API: one package per resource, registered on the flask-smorest Api."""

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    """Register every resource's blueprint on the app's Api."""
    from tapbank.api.accounts.routes import blp as accounts
    from tapbank.api.base import API_KEY_SCHEME
    from tapbank.api.legacy.routes import blp as legacy
    from tapbank.api.operations.routes import blp as operations
    from tapbank.api.taps.routes import blp as taps

    api.spec.components.security_scheme("apiKeyHeader", API_KEY_SCHEME)
    for blueprint in (accounts, taps, operations, legacy):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
