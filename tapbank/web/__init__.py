"""The pages tapbank serves to people: two phones tapping, and the operator's live view."""

from flask import Flask


def register_pages(app: Flask) -> None:
    """Serve the pages everywhere, and the demo accounts to them outside production."""
    from tapbank.web.demo import demo
    from tapbank.web.pages import pages

    app.register_blueprint(pages)
    if app.config["ENV_NAME"] != "production":
        app.register_blueprint(demo)
