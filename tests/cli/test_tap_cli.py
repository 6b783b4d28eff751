"""flask tap simulate | inject-error | reset and flask demo setup, run as an operator would."""

import json
import os
import pty
import re
import select
import socket
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from tapbank import create_app
from tapbank.config import ProductionConfig
from tapbank.devtools.demo import (
    DEMO_FILE,
    DEMO_OPENING_BALANCE,
    DEMO_OWNERS,
    LEGACY_USER_IDS,
    OPENING_BALANCES,
    SMALL_DEMO_BALANCE,
)
from tapbank.devtools.injection import KINDS, age_taps
from tapbank.devtools.simulator import Phone, ServerUnreachable, TapSimulator
from tapbank.extensions import db
from tapbank.ledger.emptying import truncate_with_the_ledger
from tests import factories
from tests.conftest import ADMIN_KEY
from tests.live_server import free_port
from tests.scheduler.workers import FLASK, ROOT, worker_environment

INJECTED = re.compile(r"^(\S+)\s+([0-9a-f-]{36})\s+(\S+)\s+reasons: (.*)$", re.MULTILINE)
BAR_MARKS = ("#", "\r", "█", "[")
TABLES = (
    "taps",
    "halves",
    "transfers",
    "entries",
    "failures",
    "auth_failures",
    "idempotency_keys",
)


@pytest.fixture(autouse=True)
def instance(app, tmp_path, monkeypatch):
    """The app's instance folder, where the demo keys are kept, in a folder of the test's own."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def production_app(migrated_app, database_url, tmp_path_factory):
    """The app as TAPBANK_ENV=production builds it, on the test database."""
    config = ProductionConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.TAPBANK_ADMIN_KEY = ADMIN_KEY
    production = create_app(config)
    production.instance_path = str(tmp_path_factory.mktemp("production-instance"))
    yield production
    with production.app_context():
        db.engine.dispose()


def run(runner, *args: str, **kwargs):
    """Invoke a command with the test's own session out of any transaction."""
    db.session.rollback()
    return runner.invoke(args=list(args), **kwargs)


def run_in_production(production_app, *args: str, **kwargs):
    with production_app.app_context():
        return production_app.test_cli_runner().invoke(args=list(args), **kwargs)


def assert_one_line_error(result, *phrases: str) -> None:
    """A non-zero exit with one `Error:` line naming every phrase, and no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for phrase in phrases:
        assert phrase in errors[0], result.output


def count(table: str, where: str = "true") -> int:
    return db.session.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}"))


def counts() -> dict[str, int]:
    return {table: count(table) for table in TABLES}


def tap_transfers() -> int:
    return count("transfers", "kind <> 'deposit'")


def demo_file_accounts(instance) -> list[factories.TestAccount]:
    entries = json.loads((instance / DEMO_FILE).read_text())
    assert [entry["owner"] for entry in entries] == list(DEMO_OWNERS)
    return [factories.TestAccount(entry["id"], entry["key"]) for entry in entries]


def phone(account: factories.TestAccount) -> str:
    return f"{account.id}:{account.key}"


# flask tap simulate ------------------------------------------------------------------------------


@pytest.mark.slow
def test_simulate_against_a_real_server_settles_every_tap_and_moves_exactly_the_amounts(
    runner, factory, live_server
):
    ada, bob = factory.account("Ada", deposit=100_000), factory.account("Bob")

    result = run(
        runner,
        *("tap", "simulate", "--url", live_server, "--amount", "12.50", "--json"),
        *("--sender", phone(ada), "--receiver", phone(bob), "--count", "20", "--concurrency", "4"),
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    outcomes = {name: summary[name] for name in ("taps", "settled", "failed", "unresolved")}
    assert outcomes == {"taps": 20, "settled": 20, "failed": 0, "unresolved": 0}
    assert summary["failed_by_reason"] == {}
    latency = summary["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert summary["taps_per_s"] > 0 and summary["seconds"] > 0
    assert (factory.balance(ada), factory.balance(bob)) == (100_000 - 20 * 1250, 20 * 1250)
    paid = f"amount = 1250 AND debit_account_id = '{ada.id}' AND credit_account_id = '{bob.id}'"
    assert tap_transfers() == count("transfers", paid) == 20
    assert count("taps", "status = 'settled'") == 20
    # The payer's phone binds each tap to its payee by default.
    assert count("halves", f"side = 'sender' AND receiver_account_id = '{bob.id}'") == 20


def test_simulate_without_binding_sends_halves_naming_no_payee(runner, factory, live_server):
    ada, bob = factory.account("Ada", deposit=10_000), factory.account("Bob")

    result = run(
        runner,
        *("tap", "simulate", "--url", live_server, "--count", "2", "--json", "--no-bind"),
        *("--sender", phone(ada), "--receiver", phone(bob)),
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["settled"] == 2
    assert count("halves", "side = 'sender' AND receiver_account_id IS NULL") == 2


@pytest.mark.slow
def test_simulate_prints_a_summary_and_no_progress_bar_when_output_is_not_a_terminal(
    runner, factory, live_server
):
    ada, bob = factory.account("Ada", deposit=10_000), factory.account("Bob")

    result = run(
        runner,
        *("tap", "simulate", "--url", live_server, "--count", "3", "--concurrency", "2"),
        *("--sender", phone(ada), "--receiver", phone(bob), "--amount", "1"),
    )

    assert result.exit_code == 0, result.output
    assert not any(mark in result.output for mark in BAR_MARKS), result.output
    assert result.output.startswith("3 taps in"), result.output
    assert "3 settled, 0 failed, 0 unresolved" in result.output
    assert re.search(r"p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms", result.output)
    assert factory.balance(bob) == 300


def run_on_a_terminal(database_url: str, *args: str, timeout: float = 30) -> tuple[int, str]:
    """Run `flask ...` in a process whose output is a terminal; its exit code and output."""
    terminal, process_side = pty.openpty()
    process = subprocess.Popen(
        [str(FLASK), "--app", "tapbank", *args],
        cwd=ROOT,
        env=worker_environment(database_url, "simulate", {"COLUMNS": "100"}),
        stdin=subprocess.DEVNULL,
        stdout=process_side,
        stderr=process_side,
    )
    os.close(process_side)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([terminal], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            output += chunk
        return process.wait(timeout=5), output.decode(errors="replace")
    finally:
        process.kill()
        os.close(terminal)


@pytest.mark.slow
def test_simulate_shows_a_progress_bar_on_a_terminal_but_not_with_json(
    factory, live_server, database_url
):
    ada, bob = factory.account("Ada", deposit=100_000), factory.account("Bob")
    db.session.rollback()
    args = ("tap", "simulate", "--url", live_server, "--sender", phone(ada))
    args += ("--receiver", phone(bob), "--count", "10", "--concurrency", "2")

    code, shown = run_on_a_terminal(database_url, *args)

    assert code == 0, shown
    assert re.search(r"taps\s+\[#+", shown), shown
    assert "10 settled" in shown

    code, printed = run_on_a_terminal(database_url, *args, "--json")

    assert code == 0, printed
    assert "#" not in printed
    assert json.loads(printed)["settled"] == 10
    assert factory.balance(bob) == 20 * 1250


@pytest.mark.slow
def test_simulate_counts_taps_the_server_fails_by_their_reason(runner, factory, live_server):
    ada, bob = factory.account("Ada", deposit=2_500), factory.account("Bob")

    result = run(
        runner,
        *("tap", "simulate", "--url", live_server, "--count", "4", "--json"),
        *("--sender", phone(ada), "--receiver", phone(bob), "--amount", "10"),
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["settled"], summary["failed"]) == (2, 2)
    assert summary["failed_by_reason"] == {"insufficient_funds": 2}
    assert (factory.balance(ada), factory.balance(bob)) == (500, 2_000)


@pytest.mark.slow
def test_simulate_without_accounts_uses_the_demo_accounts_made_on_first_use(
    runner, factory, live_server, instance
):
    first = run(runner, "tap", "simulate", "--url", live_server, "--count", "3", "--json")

    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["settled"] == 3
    alice, bob, carol = demo_file_accounts(instance)
    assert factory.balance(alice) == DEMO_OPENING_BALANCE - 3 * 1250
    assert factory.balance(bob) == DEMO_OPENING_BALANCE + 3 * 1250

    again = run(runner, "tap", "simulate", "--url", live_server, "--count", "2", "--json")

    assert again.exit_code == 0, again.output
    assert demo_file_accounts(instance) == [alice, bob, carol]
    assert factory.balance(bob) == DEMO_OPENING_BALANCE + 5 * 1250
    assert factory.balance(carol) == SMALL_DEMO_BALANCE
    assert count("accounts", "account_type <> 'funding'") == 3


@pytest.mark.slow
def test_simulate_with_a_wrong_key_names_the_servers_answer(runner, factory, live_server):
    ada, bob = factory.account("Ada", deposit=10_000), factory.account("Bob")
    wrong = factories.TestAccount(ada.id, "tbk_" + "x" * 40)

    result = run(
        runner,
        *("tap", "simulate", "--url", live_server, "--count", "3"),
        *("--sender", phone(wrong), "--receiver", phone(bob)),
    )

    assert_one_line_error(result, "the server answered 401", "A valid bearer key is required.")
    assert tap_transfers() == 0
    assert factory.balance(ada) == 10_000


@pytest.mark.parametrize(
    ("amount", "complaint"),
    [("12.505", "decimals"), ("twelve", "number"), ("-1", "positive"), ("0", "more than zero")],
)
def test_simulate_refuses_an_amount_it_cannot_send_exactly(runner, amount, complaint):
    result = run(
        runner,
        *("tap", "simulate", "--url", f"http://127.0.0.1:{free_port()}", "--amount", amount),
        *("--sender", f"{uuid.uuid4()}:tbk_a", "--receiver", f"{uuid.uuid4()}:tbk_b"),
    )

    assert result.exit_code == 2, result.output
    assert_one_line_error(result, "--amount", complaint)
    assert count("accounts", "account_type <> 'funding'") == 0


@pytest.mark.parametrize("option", ["--sender", "--receiver"])
@pytest.mark.parametrize("value", ["nonsense", ":tbk_key", "5d1e1c4e-8f43-4a57-9d4b-2f8f0f5c1a10:"])
def test_simulate_refuses_an_account_not_written_as_id_colon_key(runner, option, value):
    other = "--receiver" if option == "--sender" else "--sender"
    result = run(
        runner,
        *("tap", "simulate", "--url", f"http://127.0.0.1:{free_port()}"),
        *(option, value, other, f"{uuid.uuid4()}:tbk_key"),
    )

    assert result.exit_code == 2, result.output
    assert_one_line_error(result, option, "ACCOUNT_ID:KEY")


@pytest.mark.parametrize("url", ["127.0.0.1:5000", "ftp://127.0.0.1/", "http://", "nonsense"])
def test_simulate_refuses_a_url_it_cannot_send_to(runner, url):
    result = run(
        runner,
        *("tap", "simulate", "--url", url),
        *("--sender", f"{uuid.uuid4()}:tbk_a", "--receiver", f"{uuid.uuid4()}:tbk_b"),
    )

    assert result.exit_code == 2, result.output
    assert_one_line_error(result, "--url")


def test_simulate_against_an_unreachable_server_fails_soon_with_one_line(runner):
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    result = run(
        runner,
        *("tap", "simulate", "--url", url, "--count", "60", "--concurrency", "2"),
        *("--sender", f"{uuid.uuid4()}:tbk_a", "--receiver", f"{uuid.uuid4()}:tbk_b"),
    )

    assert_one_line_error(result, url, "is the server running?")
    assert result.exit_code == 1
    # Every tap after the first to give up is dropped, not retried in turn for minutes.
    assert time.monotonic() - started < 10


class _NotTapbank(BaseHTTPRequestHandler):
    """Any other web server: its own page to whatever it is sent."""

    page = b"<html>hello</html>"
    content_type = "text/html"

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        page = self.page
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args):
        pass


class _OtherJsonApi(_NotTapbank):
    page = b'{"ok": true}'
    content_type = "application/json"


@pytest.mark.parametrize("handler", [_NotTapbank, _OtherJsonApi], ids=["html", "other-json"])
def test_simulate_against_a_server_that_is_not_tapbank_says_so_in_one_line(runner, handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = run(
            runner,
            *("tap", "simulate", "--url", url, "--count", "3"),
            *("--sender", f"{uuid.uuid4()}:tbk_a", "--receiver", f"{uuid.uuid4()}:tbk_b"),
        )
    finally:
        server.shutdown()
        server.server_close()

    assert result.exit_code == 1
    assert_one_line_error(result, url, "but no tap", "is it tapbank?")


class AnswerLosingProxy(ThreadingHTTPServer):
    """Forwards every request to upstream, but loses the answer to the first PUT of each path:
    the half reached the server, and the phone saw the connection drop."""

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Forwarder)
        self.upstream = upstream
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.answered: set[str] = set()
        self.lost = 0
        self.lock = threading.Lock()

    def loses(self, method: str, path: str) -> bool:
        with self.lock:
            if method != "PUT" or path in self.answered:
                return False
            self.answered.add(path)
            self.lost += 1
            return True


class _Forwarder(BaseHTTPRequestHandler):
    def do_GET(self):
        self._forward()

    def do_PUT(self):
        self._forward()

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name: self.headers[name] for name in ("Authorization", "Content-Type")}
        answer = requests.request(
            self.command, self.server.upstream + self.path, data=body, headers=headers, timeout=10
        )
        if self.server.loses(self.command, self.path):
            self.close_connection = True
            return
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers["Content-Type"])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args):
        pass


@pytest.fixture
def answer_losing_proxy(live_server):
    proxy = AnswerLosingProxy(live_server)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.mark.slow
def test_simulate_retries_a_lost_answer_with_the_same_key_and_body_and_counts_it(
    runner, factory, answer_losing_proxy
):
    ada, bob = factory.account("Ada", deposit=100_000), factory.account("Bob")

    result = run(
        runner,
        *("tap", "simulate", "--url", answer_losing_proxy.url, "--count", "5", "--json"),
        *("--sender", phone(ada), "--receiver", phone(bob), "--concurrency", "2"),
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert answer_losing_proxy.lost == 10
    assert (summary["settled"], summary["network_retries"]) == (5, 10)
    # A retry with another key or body would be a second tap or a 409, not a replay.
    assert count("taps") == tap_transfers() == 5
    assert (factory.balance(ada), factory.balance(bob)) == (100_000 - 5 * 1250, 5 * 1250)


def test_the_simulator_retries_a_server_that_never_answers_then_gives_up():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        payer, payee = Phone(str(uuid.uuid4()), "tbk_a"), Phone(str(uuid.uuid4()), "tbk_b")
        simulator = TapSimulator(url, payer, payee, timeout=0.2)

        with pytest.raises(ServerUnreachable, match="did not answer"):
            simulator.run(1, 1, 1250, "USD")


# flask tap inject-error --------------------------------------------------------------------------


def injected(output: str) -> dict[str, tuple[str, str, str]]:
    """kind -> (key, status, reasons) from the lines inject-error printed."""
    return {kind: (key, status, reasons) for kind, key, status, reasons in INJECTED.findall(output)}


def assert_failed_for_exactly(client, admin_headers, key: str, reason: str) -> None:
    tap = client.get(f"/api/v1/taps/{key}", headers=admin_headers).json
    assert tap["status"] == "failed", tap
    assert tap["transfer"] is None
    assert [entry["reason"] for entry in tap["failure"]["reasons"]] == [reason]


@pytest.mark.parametrize("kind", KINDS)
def test_inject_error_makes_a_tap_that_fails_for_exactly_that_reason(
    runner, client, admin_headers, instance, kind
):
    result = run(runner, "tap", "inject-error", "--kind", kind)

    assert result.exit_code == 0, result.output
    lines = injected(result.output)
    assert list(lines) == [kind]
    key, status, reasons = lines[kind]
    reason = kind.replace("-", "_")
    assert (status, reasons) == ("failed", reason)
    assert_failed_for_exactly(client, admin_headers, key, reason)
    assert tap_transfers() == 0
    assert count("taps") == 1 and count("failures") == 1
    for owner, account in zip(DEMO_OWNERS, demo_file_accounts(instance), strict=True):
        balance = OPENING_BALANCES[owner]
        assert count("accounts", f"id = '{account.id}' AND balance = {balance}") == 1


def test_inject_error_all_makes_one_failing_tap_of_each_kind_and_settles_nothing(
    runner, client, admin_headers
):
    result = run(runner, "tap", "inject-error", "--kind", "all")

    assert result.exit_code == 0, result.output
    lines = injected(result.output)
    assert sorted(lines) == sorted(KINDS)
    assert len({key for key, _, _ in lines.values()}) == len(KINDS)
    for kind, (key, _, _) in lines.items():
        assert_failed_for_exactly(client, admin_headers, key, kind.replace("-", "_"))
    assert tap_transfers() == 0
    assert count("taps", "status = 'failed'") == count("taps") == len(KINDS)


@pytest.fixture
def deferred(apps, instance, monkeypatch):
    """The app with every pair left to the reconciler, keeping its demo keys where the test's
    own app does."""
    deferred = apps(TAPBANK_SETTLE_INLINE=False)
    monkeypatch.setattr(deferred, "instance_path", str(instance))
    return deferred


def invoke_in(app, *args: str):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


def test_inject_error_takes_the_same_path_when_the_reconciler_settles(
    client, admin_headers, deferred
):
    result = invoke_in(deferred, "tap", "inject-error")

    assert result.exit_code == 0, result.output
    lines = injected(result.output)
    assert sorted(lines) == sorted(KINDS)
    for kind, (key, _, _) in lines.items():
        assert_failed_for_exactly(client, admin_headers, key, kind.replace("-", "_"))
    assert tap_transfers() == 0


def test_inject_error_ends_its_own_taps_and_leaves_every_other_to_the_workers(
    client, admin_headers, deferred
):
    others = factories.Factory(deferred, deferred.test_client(), admin_headers)
    payer, payee = others.account("Carol", deposit=5_000), others.account("Dan")
    matched, lone = uuid.uuid4(), uuid.uuid4()
    assert others.send(matched, payer).status_code == 201
    assert others.receive(matched, payee, payer).json["status"] == "matched"
    assert others.send(lone, payer).status_code == 201
    with deferred.app_context():
        overdue = timedelta(seconds=deferred.config["TAPBANK_TAP_TTL_SECONDS"] + 1)
        age_taps(db.session, [lone], overdue)

    result = invoke_in(deferred, "tap", "inject-error")

    assert result.exit_code == 0, result.output
    assert sorted(injected(result.output)) == sorted(KINDS)
    assert tap_status(client, admin_headers, matched) == "matched"
    assert tap_status(client, admin_headers, lone) == "awaiting_receiver"
    assert count("taps", "status = 'failed'") == len(KINDS)


def tap_status(client, admin_headers, key) -> str:
    return client.get(f"/api/v1/taps/{key}", headers=admin_headers).json["status"]


def test_inject_error_refuses_a_kind_it_does_not_know(runner):
    result = run(runner, "tap", "inject-error", "--kind", "meteor-strike")

    assert_one_line_error(result, "--kind", "meteor-strike")
    assert count("taps") == 0


def test_inject_error_says_which_half_the_server_refused(runner, app, monkeypatch):
    monkeypatch.setitem(app.config, "TAPBANK_MAX_TRANSFER_MINOR", 1_000)

    result = run(runner, "tap", "inject-error", "--kind", "amount-mismatch")

    assert_one_line_error(result, "the sender half was refused")
    assert count("taps") == 0


# flask tap reset ---------------------------------------------------------------------------------


@pytest.fixture
def busy_demo(runner, factory, client, instance):
    """A demo in use: taps settled and failed, Bob frozen, an auth failure, another's account."""
    assert run(runner, "demo", "setup").exit_code == 0
    alice, bob, _ = demo_file_accounts(instance)
    assert factory.tap(alice, bob, 700).json["status"] == "settled"
    assert run(runner, "tap", "inject-error").exit_code == 0
    other = factory.account("Carol", deposit=5_000)
    assert factory.tap(other, bob, 1_000).json["status"] == "settled"
    # A deposit taken with an Idempotency-Key: its answer names a transfer the reset deletes.
    top_up = {**factory.admin_headers, "Idempotency-Key": "top-up-carol"}
    deposits = f"/api/v1/accounts/{other.id}/deposits"
    assert client.post(deposits, json={"amount": 100}, headers=top_up).status_code == 201
    freeze = {"status": "frozen"}
    path = f"/api/v1/accounts/{bob.id}"
    assert client.patch(path, json=freeze, headers=factory.admin_headers).status_code == 200
    bad_key = {"Authorization": "Bearer tbk_" + "0" * 40}
    assert client.get(f"/api/v1/accounts/{alice.id}", headers=bad_key).status_code == 401
    db.session.rollback()
    assert all(counts().values()), counts()
    return alice, bob, other


def test_reset_asks_first_and_deletes_nothing_when_told_no(runner, busy_demo):
    before = counts()

    result = run(runner, "tap", "reset", input="n\n")

    assert result.exit_code == 1, result.output
    assert "Delete every tap" in result.output
    assert "Aborted" in result.output
    assert counts() == before


def test_reset_empties_the_taps_and_the_ledger_and_restores_the_demo(
    runner, factory, client, busy_demo, instance
):
    alice, bob, other = busy_demo

    result = run(runner, "tap", "reset", "--yes")

    assert result.exit_code == 0, result.output
    assert "Delete every tap" not in result.output
    emptied = ("taps", "halves", "failures", "auth_failures", "idempotency_keys")
    assert {table: count(table) for table in emptied} == dict.fromkeys(emptied, 0)
    # What is left of the ledger is the demo's three opening deposits, nothing else.
    assert count("transfers") == count("transfers", "kind = 'deposit'") == 3
    assert count("entries") == 6
    demo = demo_file_accounts(instance)
    assert demo[:2] == [alice, bob]
    for owner, account in zip(DEMO_OWNERS, demo, strict=True):
        assert account.id in result.output
        restored = client.get(f"/api/v1/accounts/{account.id}", headers=account.headers).json
        assert (restored["balance"], restored["status"]) == (OPENING_BALANCES[owner], "active")
    assert factory.balance(other) == 0
    verified = run(runner, "ledger", "verify")
    assert verified.exit_code == 0, verified.output
    assert factory.tap(alice, bob, 100).json["status"] == "settled"


def test_reset_when_told_yes_at_the_prompt_resets(runner, busy_demo):
    result = run(runner, "tap", "reset", input="y\n")

    assert result.exit_code == 0, result.output
    assert count("taps") == count("failures") == count("auth_failures") == 0


@pytest.mark.parametrize(
    ("flags", "answer"), [(["--yes"], None), ([], "y\n"), ([], "n\n")], ids=["yes", "y", "n"]
)
def test_reset_refuses_in_production_whatever_the_flags(production_app, busy_demo, flags, answer):
    before = counts()

    result = run_in_production(production_app, "tap", "reset", *flags, input=answer)

    assert_one_line_error(result, "production")
    assert "Delete every tap" not in result.output
    db.session.rollback()
    assert counts() == before


# flask demo setup --------------------------------------------------------------------------------


def demo_lines(output: str) -> list[tuple[str, str, str]]:
    return re.findall(r"^\s+(\w+ Demo)\s+id (\S+)\s+key (\S+)$", output, re.MULTILINE)


def test_demo_setup_prints_the_admin_key_and_the_three_demo_accounts(runner, client, instance):
    result = run(runner, "demo", "setup")

    assert result.exit_code == 0, result.output
    assert ADMIN_KEY in result.output
    printed = demo_lines(result.output)
    assert [owner for owner, _, _ in printed] == list(DEMO_OWNERS)
    assert [factories.TestAccount(id_, key) for _, id_, key in printed] == demo_file_accounts(
        instance
    )
    for owner, account_id, key in printed:
        mine = client.get(
            f"/api/v1/accounts/{account_id}", headers={"Authorization": f"Bearer {key}"}
        )
        assert mine.status_code == 200
        assert mine.json["balance"] == OPENING_BALANCES[owner]
        # AISBackend's phone script sends these user ids: it runs against make run-legacy.
        assert mine.json["legacy_user_id"] == LEGACY_USER_IDS[owner]
        assert f"AISBackend user_id {LEGACY_USER_IDS[owner]}" in result.output
    assert OPENING_BALANCES["Carol Demo"] == SMALL_DEMO_BALANCE < 1250 * 2
    assert (instance / DEMO_FILE).stat().st_mode & 0o777 == 0o600


def test_demo_setup_run_twice_keeps_the_same_accounts(runner):
    first = run(runner, "demo", "setup")
    second = run(runner, "demo", "setup")

    assert second.exit_code == 0, second.output
    assert demo_lines(second.output) == demo_lines(first.output)
    assert count("accounts", "account_type <> 'funding'") == 3
    assert count("transfers") == 3


def test_demo_setup_remakes_the_accounts_when_the_database_lost_them(runner, instance):
    first = demo_lines(run(runner, "demo", "setup").output)
    truncate_with_the_ledger(db.session, ("accounts",), cascade=True)
    db.session.commit()

    again = demo_lines(run(runner, "demo", "setup").output)

    assert [owner for owner, _, _ in again] == list(DEMO_OWNERS)
    assert {id_ for _, id_, _ in again}.isdisjoint(id_ for _, id_, _ in first)
    assert count("accounts", "account_type <> 'funding'") == 3


def test_demo_setup_keeps_an_older_demos_two_accounts_and_adds_the_third(runner, instance):
    first = demo_lines(run(runner, "demo", "setup").output)
    entries = json.loads((instance / DEMO_FILE).read_text())
    (instance / DEMO_FILE).write_text(json.dumps(entries[:2]))  # as the two-account demo wrote it

    again = demo_lines(run(runner, "demo", "setup").output)

    assert again[:2] == first[:2]
    assert again[2][0] == "Carol Demo" and again[2][1] != first[2][1]
    assert count("accounts", "account_type <> 'funding'") == 4  # the lost third one stays
    # The lost one keeps its AISBackend user id; the new Carol goes without rather than fail.
    carol_ids = f"owner_name = 'Carol Demo' AND legacy_user_id = {LEGACY_USER_IDS['Carol Demo']}"
    assert count("accounts", carol_ids) == 1
    assert count("accounts", f"id = '{again[2][1]}' AND legacy_user_id IS NULL") == 1


def test_demo_setup_refuses_in_production_and_makes_nothing(production_app):
    result = run_in_production(production_app, "demo", "setup")

    assert_one_line_error(result, "production")
    assert ADMIN_KEY not in result.output
    assert count("accounts", "account_type <> 'funding'") == 0
    assert not (Path(production_app.instance_path) / DEMO_FILE).exists()


@pytest.mark.parametrize(
    "command",
    [["tap", "inject-error"], ["tap", "simulate", "--url", "http://127.0.0.1:1"]],
    ids=["inject-error", "simulate"],
)
def test_commands_that_use_the_demo_do_not_make_it_in_production(production_app, command):
    result = run_in_production(production_app, *command)

    assert_one_line_error(result, "production")
    assert count("accounts", "account_type <> 'funding'") == 0
    assert count("taps") == 0


# --help ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "explained"),
    [
        (["tap"], "Simulate phones"),
        (["tap", "simulate"], "Two phones over real HTTP"),
        (["tap", "inject-error"], "must fail"),
        (["tap", "reset"], "restore the demo accounts"),
        (["demo"], "demo accounts"),
        (["demo", "setup"], "three demo accounts"),
    ],
)
def test_every_command_explains_itself_and_each_of_its_options(app, runner, command, explained):
    result = run(runner, *command, "--help")

    assert result.exit_code == 0, result.output
    assert explained in " ".join(result.output.split())
    group = app.cli
    for name in command:
        group = group.get_command(None, name)
    for param in getattr(group, "params", []):
        if param.name != "help" and hasattr(param, "help"):
            assert param.help, f"{' '.join(command)} {param.opts[0]} has no help"
            assert param.opts[0] in result.output
