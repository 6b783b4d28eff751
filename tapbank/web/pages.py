"""`/` and `/ops`: plain HTML, CSS and JavaScript files, served as they are, with no CDN."""

from flask import Blueprint, Response

pages = Blueprint("pages", __name__, static_folder="static", static_url_path="/assets")

# The pages hold keys in session storage: no script, style or frame from anywhere else, and no
# address of theirs sent to another site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@pages.get("/")
def tap_page() -> Response:
    """Two phones side by side, tapping through the public API."""
    return pages.send_static_file("tap.html")


@pages.get("/ops")
def ops_page() -> Response:
    """The operator's live view, read with the admin key entered in the page."""
    return pages.send_static_file("ops.html")


@pages.after_request
def _guard(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response
