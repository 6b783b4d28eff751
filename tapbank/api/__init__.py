"""The HTTP API: one package per resource, registered on the flask-smorest Api."""

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    """Register every resource's blueprint on the app's Api."""
    from tapbank.api.accounts.routes import blp as accounts
    from tapbank.api.operations.routes import blp as operations
    from tapbank.api.taps.routes import blp as taps

    for blueprint in (accounts, taps, operations):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
