"""flask tap simulate | inject-error | reset and flask demo setup, run as an operator would."""

import json
import uuid

import pytest
from sqlalchemy import text

from tapbank import create_app
from tapbank.config import ProductionConfig
from tapbank.devtools.injection import KINDS
from tapbank.extensions import db
from tests.conftest import ADMIN_KEY
from tests.live_server import free_port

REASON_OF_KIND = {
    "sender-mismatch": "sender_mismatch",
    "amount-mismatch": "amount_mismatch",
    "currency-mismatch": "currency_mismatch",
    "insufficient-funds": "insufficient_funds",
    "expired": "expired",
    "self-transfer": "self_transfer",
}


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """The demo's files go to a temporary instance folder, never the developer's."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def count(table: str) -> int:
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def tap_status(client, admin_headers, key: str) -> dict:
    response = client.get(f"/api/v1/taps/{key}", headers=admin_headers)
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.slow
def test_simulate_sends_taps_over_http_and_reports_them(runner, factory, live_server):
    payer = factory.account("Ada", deposit=100_000)
    payee = factory.account("Bob")
    result = runner.invoke(
        args=[
            "tap",
            "simulate",
            "--url",
            live_server,
            "--sender",
            f"{payer.id}:{payer.key}",
            "--receiver",
            f"{payee.id}:{payee.key}",
            "--amount",
            "12.50",
            "--count",
            "20",
            "--concurrency",
            "4",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["settled"] == 20
    assert summary["failed"] == 0
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99"}
    assert summary["latency_ms"]["p50"] > 0
    assert factory.balance(payer) == 100_000 - 20 * 1250
    assert factory.balance(payee) == 20 * 1250


@pytest.mark.slow
def test_simulate_without_accounts_uses_the_demo_accounts(runner, instance, live_server):
    result = runner.invoke(args=["tap", "simulate", "--url", live_server, "--count", "3"])
    assert result.exit_code == 0, result.output
    assert "3 settled" in result.output
    assert "p99" in result.output
    assert "█" not in result.output and "#" not in result.output  # no bar off a terminal
    assert (instance / "demo-accounts.json").exists()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--amount", "12.505"], "more than 2 decimals"),
        (["--amount", "twelve"], "not a number"),
        (["--sender", "nonsense"], "ACCOUNT_ID:KEY"),
    ],
)
def test_simulate_refuses_bad_arguments_in_one_line(runner, instance, args, complaint):
    result = runner.invoke(args=["tap", "simulate", "--url", "http://127.0.0.1:9", *args])
    assert result.exit_code != 0
    assert complaint in result.output
    assert "Traceback" not in result.output


def test_simulate_against_an_unreachable_server_says_so(runner, factory):
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(
        args=[
            "tap",
            "simulate",
            "--url",
            url,
            "--sender",
            f"{payer.id}:{payer.key}",
            "--receiver",
            f"{payee.id}:{payee.key}",
        ]
    )
    assert result.exit_code == 1
    assert "did not answer" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_simulate_with_a_wrong_key_names_the_servers_answer(runner, factory, live_server):
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    result = runner.invoke(
        args=[
            "tap",
            "simulate",
            "--url",
            live_server,
            "--sender",
            f"{payer.id}:tbk_wrong",
            "--receiver",
            f"{payee.id}:{payee.key}",
        ]
    )
    assert result.exit_code == 1
    assert "401" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kind", KINDS)
def test_inject_error_makes_a_tap_that_fails_for_exactly_that_reason(
    runner, instance, client, admin_headers, kind
):
    result = runner.invoke(args=["tap", "inject-error", "--kind", kind])
    assert result.exit_code == 0, result.output
    key = result.output.split()[1]
    tap = tap_status(client, admin_headers, key)
    assert tap["status"] == "failed"
    assert [reason["reason"] for reason in tap["failure"]["reasons"]] == [REASON_OF_KIND[kind]]
    assert count("transfers WHERE kind = 'tap'") == 0


def test_inject_error_all_makes_one_failing_tap_of_each_kind(
    runner, instance, client, admin_headers
):
    result = runner.invoke(args=["tap", "inject-error", "--kind", "all"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(KINDS)
    for line in lines:
        kind, key = line.split()[:2]
        tap = tap_status(client, admin_headers, key)
        assert [r["reason"] for r in tap["failure"]["reasons"]] == [REASON_OF_KIND[kind]]


def test_reset_asks_first_and_a_no_deletes_nothing(runner, instance, factory):
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    factory.tap(payer, payee, 1000)
    result = runner.invoke(args=["tap", "reset"], input="n\n")
    assert result.exit_code != 0
    assert "Aborted" in result.output
    assert count("taps") == 1
    assert count("transfers") == 2  # Ada's opening deposit and the tap


def test_reset_empties_the_demo_and_restores_its_balances(runner, instance, factory):
    runner.invoke(args=["demo", "setup"])
    demo = json.loads((instance / "demo-accounts.json").read_text())
    runner.invoke(args=["tap", "inject-error", "--kind", "all"])
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    factory.tap(payer, payee, 1000)
    factory.client.get("/api/v1/accounts", headers={"Authorization": "Bearer tbk_wrong"})

    result = runner.invoke(args=["tap", "reset", "--yes"])

    assert result.exit_code == 0, result.output
    for table in ("taps", "halves", "failures", "auth_failures"):
        assert count(table) == 0, table
    assert count("transfers") == 2  # the two demo accounts' opening deposits, again
    for account in demo:
        balance = db.session.execute(
            text("SELECT balance FROM accounts WHERE id = :id"), {"id": account["id"]}
        ).scalar_one()
        assert balance == 100_000_000
    assert factory.balance(payer) == 0
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_reset_and_demo_setup_refuse_in_production_whatever_the_flags(
    app, database_url, factory, tmp_path
):
    factory.tap(factory.account("Ada", deposit=5000), factory.account("Bob"), 1000)
    config = ProductionConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.TAPBANK_ADMIN_KEY = ADMIN_KEY
    production = create_app(config)
    production.instance_path = str(tmp_path)
    runner = production.test_cli_runner()

    with production.app_context():  # the commands see this app, not the suite's own
        reset = runner.invoke(args=["tap", "reset", "--yes"])
        setup = runner.invoke(args=["demo", "setup"])

    assert reset.exit_code != 0 and "production" in reset.output
    assert setup.exit_code != 0 and "production" in setup.output
    assert count("taps") == 1
    assert not (tmp_path / "demo-accounts.json").exists()


def test_demo_setup_prints_the_admin_key_and_keeps_its_accounts(runner, instance):
    first = runner.invoke(args=["demo", "setup"])
    second = runner.invoke(args=["demo", "setup"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert ADMIN_KEY in first.output
    assert first.output == second.output
    ids = [account["id"] for account in json.loads((instance / "demo-accounts.json").read_text())]
    assert len(ids) == 2
    assert all(str(uuid.UUID(account_id)) in first.output for account_id in ids)


@pytest.mark.parametrize(
    "command",
    [
        ["tap", "simulate"],
        ["tap", "inject-error"],
        ["tap", "reset"],
        ["demo", "setup"],
        ["reconcile"],
        ["ledger", "verify"],
        ["scheduler", "run"],
        ["scheduler", "status"],
        ["accounts", "create"],
        ["accounts", "deposit"],
        ["accounts", "list"],
    ],
)
def test_every_command_explains_itself(runner, command):
    result = runner.invoke(args=[*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 3
