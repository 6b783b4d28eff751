"""take_half(): a half taken in one round trip, the caller's key looked up in the same call

Intake ran five statements per PUT (the key's account, the tap upserted and locked, its halves,
the half, the queue or the match), each a round trip to the server. This function runs the very
same steps, in the same order and with the same locks, server-side: the API calls it once per
half (tapbank/taps/intake.py). It refuses nothing by raising: a key that names no account, a payee
the sender half did not name and another half for the side come back as the `outcome` column,
which the caller turns into 401, 409 receiver_not_named and 409 half_conflict as before. A
constraint violation or a lock timeout is raised as the statement's own would be.

It returns one row per half the tap then has (the tap's columns repeated on each), or one row of
nulls but the outcome when the key named no account. SECURITY INVOKER: it can do only what its
caller's role may; EXECUTE is granted to the runtime role alone.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

RUNTIME = "tapbank_runtime"
SIGNATURE = (
    "take_half(text, uuid, uuid, tap_side, uuid, uuid, bigint, text, text, text, timestamptz)"
)

CREATE_TAKE_HALF = """
CREATE FUNCTION take_half(
    key_digest text,  -- the caller's key digest; null when caller_account_id is given
    caller_account_id uuid,  -- the caller's account, already authenticated; or null
    new_tap_key uuid,
    new_side tap_side,
    new_sender_account_id uuid,  -- null on a sender half: the caller pays
    new_receiver_account_id uuid,
    new_amount bigint,
    new_currency text,
    new_device_os text,
    new_device_model text,
    new_tapped_at timestamptz
) RETURNS TABLE (
    outcome text,  -- created, replay, unknown_key, receiver_not_named or half_conflict
    caller_id uuid,
    tap_status tap_status,
    tap_created_at timestamptz,
    tap_matched_at timestamptz,
    tap_ended_at timestamptz,
    tap_transfer_id uuid,
    tap_failure_id uuid,
    half_id bigint,
    half_side tap_side,
    half_account_id uuid,
    half_sender_account_id uuid,
    half_receiver_account_id uuid,
    half_amount bigint,
    half_currency varchar,
    half_device_os varchar,
    half_device_model varchar,
    half_tapped_at timestamptz,
    half_received_at timestamptz
)
LANGUAGE plpgsql
SECURITY INVOKER
AS $$
DECLARE
    tap taps;
    sender halves;
    receiver halves;
    existing halves;
    taken halves;
    payer uuid;
BEGIN
    caller_id := caller_account_id;
    IF caller_id IS NULL THEN
        SELECT id INTO caller_id FROM accounts WHERE api_key_digest = key_digest;
        IF caller_id IS NULL THEN
            outcome := 'unknown_key';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    payer := coalesce(new_sender_account_id, caller_id);

    -- Upserted and locked in one statement (a no-op update on conflict locks an existing row),
    -- so two halves of one key, or two copies of one half, are taken one after the other.
    INSERT INTO taps AS t (key, status)
    VALUES (
        new_tap_key,
        CASE new_side WHEN 'sender' THEN 'awaiting_receiver' ELSE 'awaiting_sender' END::tap_status
    )
    ON CONFLICT (key) DO UPDATE SET key = excluded.key
    RETURNING t.* INTO tap;
    SELECT h.* INTO sender FROM halves h WHERE h.tap_key = new_tap_key AND h.side = 'sender';
    SELECT h.* INTO receiver FROM halves h WHERE h.tap_key = new_tap_key AND h.side = 'receiver';
    existing := CASE new_side WHEN 'sender' THEN sender ELSE receiver END;

    IF new_side = 'receiver' AND sender.id IS NOT NULL
            AND sender.receiver_account_id IS DISTINCT FROM caller_id
            AND sender.receiver_account_id IS NOT NULL THEN
        outcome := 'receiver_not_named';
    ELSIF existing.id IS NOT NULL THEN
        -- The same half again is a replay; anything else sent for this side is a conflict.
        IF (existing.account_id, existing.sender_account_id, existing.receiver_account_id,
            existing.amount, existing.currency, existing.device_os, existing.device_model,
            existing.tapped_at)
           IS NOT DISTINCT FROM
           (caller_id, payer, new_receiver_account_id, new_amount, new_currency::varchar,
            new_device_os::varchar, new_device_model::varchar, new_tapped_at) THEN
            outcome := 'replay';
        ELSE
            outcome := 'half_conflict';
        END IF;
    ELSE
        outcome := 'created';
        INSERT INTO halves AS h (
            tap_key, side, account_id, sender_account_id, receiver_account_id, amount, currency,
            device_os, device_model, tapped_at
        )
        VALUES (
            new_tap_key, new_side, caller_id, payer, new_receiver_account_id, new_amount,
            new_currency, new_device_os, new_device_model, new_tapped_at
        )
        RETURNING h.* INTO taken;
        IF tap.status = 'failed' THEN
            NULL;  -- the partner already expired alone: this half ends with the tap's failure
        ELSIF sender.id IS NULL AND receiver.id IS NULL THEN
            -- A tap's first half queues it for the reconcilers.
            INSERT INTO tap_queue (tap_key, created_at) VALUES (new_tap_key, tap.created_at);
        ELSE
            UPDATE taps AS t SET status = 'matched', matched_at = now()
            WHERE t.key = new_tap_key
            RETURNING t.* INTO tap;
            UPDATE tap_queue AS q SET matched_at = now() WHERE q.tap_key = new_tap_key;
        END IF;
        IF new_side = 'sender' THEN
            sender := taken;
        ELSE
            receiver := taken;
        END IF;
    END IF;

    tap_status := tap.status;
    tap_created_at := tap.created_at;
    tap_matched_at := tap.matched_at;
    tap_ended_at := tap.ended_at;
    tap_transfer_id := tap.transfer_id;
    tap_failure_id := tap.failure_id;
    FOREACH taken IN ARRAY ARRAY[sender, receiver] LOOP
        CONTINUE WHEN taken.id IS NULL;
        half_id := taken.id;
        half_side := taken.side;
        half_account_id := taken.account_id;
        half_sender_account_id := taken.sender_account_id;
        half_receiver_account_id := taken.receiver_account_id;
        half_amount := taken.amount;
        half_currency := taken.currency;
        half_device_os := taken.device_os;
        half_device_model := taken.device_model;
        half_tapped_at := taken.tapped_at;
        half_received_at := taken.received_at;
        RETURN NEXT;
    END LOOP;
END
$$
"""


def upgrade():
    op.execute(CREATE_TAKE_HALF)
    # Functions are executable by PUBLIC by default: only the runtime role (and the owner) may.
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {RUNTIME}")


def downgrade():
    op.execute(f"DROP FUNCTION {SIGNATURE}")
