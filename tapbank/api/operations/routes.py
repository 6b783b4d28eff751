"""The operator's views: failed authentications, reconciliation failures, the scheduler."""

from flask.views import MethodView
from sqlalchemy import select

from tapbank.api.base import Blueprint
from tapbank.api.fields import ListArgsSchema
from tapbank.api.operations.schemas import AuthFailurePageSchema
from tapbank.extensions import db
from tapbank.models import AuthFailure
from tapbank.pagination import Page, paginate

blp = Blueprint("operations", __name__, description="What an operator watches.")


@blp.route("/auth-failures")
class AuthFailures(MethodView):
    @blp.admin_only
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, AuthFailurePageSchema)
    def get(self, args):
        """Failed authentications, newest first: time, address, route, key fingerprint."""
        page = paginate(
            db.session,
            select(AuthFailure),
            [AuthFailure.id],
            args["cursor"],
            args["limit"],
            parse=[int],
            key_of=lambda row: [row[0].id],
        )
        return Page(items=[row[0] for row in page.items], next_cursor=page.next_cursor)
