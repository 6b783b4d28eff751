"""The operator's views: failed authentications, reconciliation failures, the scheduler, and
every transfer."""

from datetime import timedelta

from flask import current_app
from flask.views import MethodView
from sqlalchemy import select

from tapbank.api.base import Blueprint
from tapbank.api.fields import ListArgsSchema
from tapbank.api.operations.schemas import (
    AuthFailurePageSchema,
    FailedTapPageSchema,
    SchedulerStatusSchema,
    TransferPageSchema,
)
from tapbank.api.taps.presenting import present_failed_tap
from tapbank.extensions import db
from tapbank.ledger.history import all_transfers
from tapbank.models import AuthFailure
from tapbank.pagination import Page, paginate
from tapbank.scheduler.status import scheduler_status
from tapbank.taps.records import failed_taps

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


@blp.route("/reconciliation-failures")
class ReconciliationFailures(MethodView):
    @blp.admin_only
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, FailedTapPageSchema)
    def get(self, args):
        """Every failed tap, newest first, with both halves as received and its reasons."""
        page = failed_taps(db.session, args["cursor"], args["limit"])
        return Page(
            items=[present_failed_tap(item) for item in page.items], next_cursor=page.next_cursor
        )


@blp.route("/scheduler")
class Scheduler(MethodView):
    @blp.admin_only
    @blp.response(200, SchedulerStatusSchema)
    def get(self):
        """Every reconciler worker, its jobs and the backlog, as recorded in the database."""
        stale_after = timedelta(seconds=current_app.config["TAPBANK_WORKER_STALE_SECONDS"])
        return scheduler_status(db.session, stale_after=stale_after)


@blp.route("/transfers")
class Transfers(MethodView):
    @blp.admin_only
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, TransferPageSchema)
    def get(self, args):
        """Every account's transfers, taps and deposits, newest first."""
        return all_transfers(db.session, args["cursor"], args["limit"])
