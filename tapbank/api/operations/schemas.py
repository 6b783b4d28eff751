"""What the operator's routes give."""

import marshmallow as ma

from tapbank.api.accounts.schemas import TransferSchema
from tapbank.api.fields import page_schema, shown_enum
from tapbank.api.taps.schemas import FailureSchema, HalfSchema
from tapbank.models import JobId, WorkerState


class AuthFailureSchema(ma.Schema):
    id = ma.fields.Integer()
    occurred_at = ma.fields.AwareDateTime()
    client_address = ma.fields.String()
    method = ma.fields.String()
    route = ma.fields.String()
    key_fingerprint = ma.fields.String(
        allow_none=True,
        metadata={"description": "A short hash that tells keys apart; never the key."},
    )


class FailedTapSchema(ma.Schema):
    key = ma.fields.UUID()
    sender = ma.fields.Nested(HalfSchema, allow_none=True)
    receiver = ma.fields.Nested(HalfSchema, allow_none=True)
    failure = ma.fields.Nested(FailureSchema)


class WorkerSchema(ma.Schema):
    id = ma.fields.UUID()
    hostname = ma.fields.String()
    pid = ma.fields.Integer()
    started_at = ma.fields.AwareDateTime()
    last_heartbeat_at = ma.fields.AwareDateTime()
    state = shown_enum(WorkerState)


class JobSchema(ma.Schema):
    id = shown_enum(JobId)
    worker_id = ma.fields.UUID()
    next_run_at = ma.fields.AwareDateTime(allow_none=True)
    last_run_at = ma.fields.AwareDateTime(allow_none=True)
    last_duration_ms = ma.fields.Integer(allow_none=True)
    last_result = ma.fields.String(allow_none=True)
    last_error = ma.fields.String(allow_none=True)


class SetAsideSchema(ma.Schema):
    count = ma.fields.Integer(metadata={"description": "Matched pairs set aside, to be retried."})
    oldest_age_s = ma.fields.Float(
        metadata={"description": "Since the oldest set-aside pair matched."}
    )
    last_error = ma.fields.String(
        allow_none=True, metadata={"description": "Why the most recently set-aside pair was."}
    )


class BacklogSchema(ma.Schema):
    matched = ma.fields.Integer(metadata={"description": "Matched pairs, set-aside ones included."})
    awaiting = ma.fields.Integer()
    oldest_matched_age_s = ma.fields.Float()
    set_aside = ma.fields.Nested(
        SetAsideSchema,
        metadata={
            "description": "Pairs that failed alone or met a held account: still matched, "
            "retried with a backoff, never holding up another pair."
        },
    )


class SchedulerStatusSchema(ma.Schema):
    healthy = ma.fields.Boolean(
        metadata={"description": "A live worker whose last reconcile run had no error."}
    )
    workers = ma.fields.List(ma.fields.Nested(WorkerSchema))
    jobs = ma.fields.List(ma.fields.Nested(JobSchema))
    backlog = ma.fields.Nested(BacklogSchema)


AuthFailurePageSchema = page_schema(AuthFailureSchema, "AuthFailurePageSchema")
FailedTapPageSchema = page_schema(FailedTapSchema, "FailedTapPageSchema")
TransferPageSchema = page_schema(TransferSchema, "TransferPageSchema")
