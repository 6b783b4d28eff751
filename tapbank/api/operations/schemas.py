"""What the operator's routes give."""

import marshmallow as ma

from tapbank.api.fields import page_schema


class AuthFailureSchema(ma.Schema):
    id = ma.fields.Integer()
    occurred_at = ma.fields.AwareDateTime()
    client_address = ma.fields.String()
    method = ma.fields.String()
    route = ma.fields.String()
    key_fingerprint = ma.fields.String(
        allow_none=True, metadata={"description": "A short hash that tells keys apart; never the key."}
    )


AuthFailurePageSchema = page_schema(AuthFailureSchema, "AuthFailurePageSchema")
