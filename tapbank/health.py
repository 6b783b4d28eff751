"""Liveness and readiness, outside the documented API."""

import psycopg
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tapbank.database_errors import Retryable, roll_back_quietly
from tapbank.errors import ApiError, retry_later
from tapbank.extensions import db
from tapbank.schema_version import newest_migration

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """200 while the process lives."""
    return jsonify(status="ok")


@health.get("/readyz")
def readyz():
    """200 when the database answers and its schema is at the newest migration."""
    expected = newest_migration(current_app)
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (SQLAlchemyError, psycopg.Error):
        # Not ready, whatever the reason the database gave (a missing alembic_version included).
        roll_back_quietly(db.session)
        raise retry_later(Retryable.DATABASE_UNAVAILABLE) from None
    if current != expected:
        raise ApiError(503, "schema_not_current", "The schema is not at the newest migration.")
    return jsonify(status="ready", schema=current)
