"""A completing half is committed before its pair is settled inline, in a transaction of its own.
Whatever happens between the two, or to the second, the half stays taken and the answer says
the truth about the tap; and the half's autocommit never leaks into a later transaction."""

import threading
import uuid

import psycopg
from sqlalchemy import text

from tapbank.api.taps import taking
from tapbank.extensions import db
from tests.taps.test_settlement import read_tap, reconcile

ONE_CONNECTION = dict(
    TAPBANK_DB_POOL_SIZE=1, TAPBANK_DB_MAX_OVERFLOW=0, TAPBANK_DB_POOL_TIMEOUT_S=1
)


def assert_pooled_connection_is_transactional(app):
    """The pool's one connection, as the next request gets it: not in autocommit, READ
    COMMITTED, and a rollback undoes what its transaction wrote."""
    with app.app_context():
        connection = db.session.connection().connection.driver_connection
        assert connection.autocommit is False
        isolation = db.session.execute(text("SHOW transaction_isolation")).scalar()
        assert isolation == "read committed"
        db.session.execute(text("CREATE TABLE undone (x int)"))
        db.session.rollback()
        assert db.session.execute(text("SELECT to_regclass('undone')")).scalar() is None
        db.session.remove()


def test_no_path_of_a_half_leaves_its_connection_in_autocommit(factory_with, database_url):
    factory = factory_with(**ONE_CONNECTION)
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")
    key, body = uuid.uuid4(), factory.sender_body()

    paths = [
        lambda: factory.send(key, payer, body),  # a new half, alone in autocommit
        lambda: factory.receive(key, payee, payer),  # then settled in a transaction
        lambda: factory.send(key, payer, body),  # a replay of a settled tap, read back
        lambda: factory.send(key, payer, factory.sender_body(amount=99)),  # 409
        lambda: factory.client.put(  # 401: an unknown key, recorded
            f"/api/v1/taps/{uuid.uuid4()}/sender",
            json=factory.sender_body(),
            headers={"Authorization": "Bearer tbk_nobody"},
        ),
    ]
    statuses = []
    for path in paths:
        statuses.append(path().status_code)
        assert_pooled_connection_is_transactional(factory.app)
    assert statuses == [201, 201, 200, 409, 401]

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as holder:
        holder.execute("SELECT 1 FROM taps WHERE key = %s FOR UPDATE", (key,))
        busy = factory.send(key, payer, body)  # the tap's lock not had in time
        assert (busy.status_code, busy.json["error"]) == (503, "busy")
    assert_pooled_connection_is_transactional(factory.app)


def test_no_connection_left_for_the_settlement_answers_matched_and_keeps_the_half(
    factory_with, monkeypatch
):
    factory = factory_with(**ONE_CONNECTION)
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    settle = taking.settle_taken_pair

    def with_the_pool_taken(session, taken):
        # Another request takes the pool's one connection as the half's commit gives it back.
        with factory.app.app_context():
            other_request = db.engine.connect()
        try:
            return settle(session, taken)
        finally:
            other_request.close()

    monkeypatch.setattr(taking, "settle_taken_pair", with_the_pool_taken)
    half = factory.receiver_body(payer)
    answer = factory.receive(key, payee, payer, half)
    monkeypatch.undo()

    assert (answer.status_code, answer.json["status"]) == (201, "matched")
    assert answer.json["receiver"]["account_id"] == payee.id
    assert read_tap(factory, key)["status"] == "matched"
    again = factory.receive(key, payee, payer, half)
    assert (again.status_code, again.json["status"]) == (200, "matched")
    assert reconcile(factory).settled == 1
    assert (factory.balance(payer), factory.balance(payee)) == (8_750, 1_250)


def test_a_pair_a_worker_settles_between_the_two_is_answered_settled(factory, monkeypatch):
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    settle = taking.settle_taken_pair
    settled_by_the_worker = []

    def worker_first(session, taken):
        worker = threading.Thread(
            target=lambda: settled_by_the_worker.append(reconcile(factory).settled)
        )
        worker.start()
        worker.join()
        return settle(session, taken)

    monkeypatch.setattr(taking, "settle_taken_pair", worker_first)
    answer = factory.receive(key, payee, payer)
    monkeypatch.undo()

    assert settled_by_the_worker == [1]
    assert (answer.status_code, answer.json["status"]) == (201, "settled")
    assert answer.json["transfer"] is not None
    assert answer.json["transfer"] == read_tap(factory, key)["transfer"]
    assert (factory.balance(payer), factory.balance(payee)) == (8_750, 1_250)
