"""After the load: wait for every tap to end, then check what the contract promises. Each broken
promise is a violation (a sentence naming what and where)."""

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.soak.client import Client
from bench.soak.record import Recorder
from bench.soak.scenarios import ALLOWED, GOOD_REASONS
from bench.soak.stack import Stack

FINAL = ("settled", "failed")


def wait_for_outcomes(client: Client, recorder: Recorder, admin_key: str, wait: float) -> None:
    """Poll every tap a phone sent a half of until it is settled or failed, or wait runs out."""
    pending = list(recorder.taps.values())
    deadline = time.monotonic() + wait

    def fetch(tap):
        status, data = client.call("GET", f"/api/v1/taps/{tap.key}", admin_key, kind="admin")
        if status == 200 and data.get("status") in FINAL:
            tap.final = data
        elif status == 404 and not tap.acknowledged:
            tap.final = {"status": "never_stored"}

    with ThreadPoolExecutor(max_workers=16) as pool:
        while pending and time.monotonic() < deadline:
            list(pool.map(fetch, pending))
            pending = [tap for tap in pending if tap.final is None]
            if pending:
                time.sleep(1.0)


def check_taps(recorder: Recorder) -> Counter:
    """Every acknowledged tap ended, as its scenario allows, as every phone saw it end."""
    outcomes = Counter()
    for tap in recorder.taps.values():
        final = tap.final
        if final is None:
            if tap.acknowledged:
                recorder.violation(f"{tap.scenario} tap {tap.key} acknowledged, never ended")
            continue
        status = final["status"]
        if status == "never_stored":
            continue
        reasons = {r["reason"] for r in (final.get("failure") or {}).get("reasons", [])}
        outcomes[status] += 1
        for reason in reasons:
            outcomes[f"failed: {reason}"] += 1
        if tap.broken:
            continue  # its half's answer is the violation already reported
        want_status, want_reason = ALLOWED.get(tap.scenario, (None, GOOD_REASONS))
        if want_status and status != want_status:
            recorder.violation(f"{tap.scenario} tap {tap.key} ended {status}")
        if status == "failed":
            if tap.scenario in ALLOWED and not (reasons & want_reason):
                recorder.violation(f"{tap.scenario} tap {tap.key} failed for {sorted(reasons)}")
            if tap.scenario not in ALLOWED and not reasons <= GOOD_REASONS:
                recorder.violation(f"{tap.scenario} tap {tap.key} failed for {sorted(reasons)}")
        for seen in tap.seen:
            if not isinstance(seen, dict) or seen.get("key") != tap.key:
                recorder.violation(f"tap {tap.key}: a phone was answered with {seen!r:.200}")
            elif seen.get("status") in FINAL and (
                seen["status"] != status
                or (status == "settled" and seen["transfer"]["id"] != final["transfer"]["id"])
            ):
                recorder.violation(
                    f"tap {tap.key}: a phone saw {seen['status']}, it ended {status}"
                )
    return outcomes


def wait_for_no_set_aside(client: Client, recorder: Recorder, admin_key: str, wait: float) -> dict:
    deadline = time.monotonic() + wait
    while True:
        status, data = client.call("GET", "/api/v1/scheduler", admin_key, kind="admin")
        set_aside = (data or {}).get("backlog", {}).get("set_aside") or {}
        if status == 200 and not set_aside.get("count"):
            return data["backlog"]
        if time.monotonic() > deadline:
            recorder.violation(f"pairs still set aside: {status} {set_aside}")
            return (data or {}).get("backlog", {})
        time.sleep(1.0)


def check_balances(client: Client, recorder: Recorder, admin_key: str, openings: dict) -> dict:
    """Each balance is its opening plus the settled taps as the phones saw them; the total holds."""
    expected = dict(openings)
    for tap in recorder.taps.values():
        if tap.final and tap.final["status"] == "settled":
            transfer = tap.final["transfer"]
            if (transfer["sender_account_id"], transfer["receiver_account_id"]) != (
                tap.payer,
                tap.payee,
            ) or transfer["amount"] != tap.amount:
                recorder.violation(f"tap {tap.key} settled as {transfer}, not as sent")
            expected[transfer["sender_account_id"]] -= transfer["amount"]
            expected[transfer["receiver_account_id"]] += transfer["amount"]
    actual = {}
    for account_id in openings:
        status, data = client.call("GET", f"/api/v1/accounts/{account_id}", admin_key, kind="admin")
        actual[account_id] = data["balance"] if status == 200 else None
        if actual[account_id] != expected[account_id]:
            recorder.violation(
                f"account {account_id}: balance {actual[account_id]}, "
                f"expected {expected[account_id]}"
            )
    total = sum(v for v in actual.values() if v is not None)
    if total != sum(openings.values()):
        recorder.violation(f"total {total} != openings {sum(openings.values())}")
    return {"opening_total": sum(openings.values()), "final_total": total}


def check_ledger(stack: Stack, recorder: Recorder) -> str:
    result = stack.flask("ledger", "verify")
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        recorder.violation(f"flask ledger verify exited {result.returncode}: {output[-1000:]}")
    return output.splitlines()[-1] if output else ""


def classify_requests(recorder: Recorder) -> dict:
    """503s by where they fell, 500s, dropped connections; latency outside fault windows."""
    counts = Counter()
    latencies = []
    for r in recorder.requests:
        if r.status == 503:
            if r.error == "busy" and recorder.in_fault(r.started, r.ended, ("account_held",)):
                counts["503 busy during the account hold"] += 1
            elif recorder.in_fault(r.started, r.ended, ("database_down",)):
                counts["503 while the database was down"] += 1
            else:
                counts[f"503 {r.error or '?'} outside a fault window"] += 1
                recorder.violation(
                    f"503 {r.error} on {r.method} sent at t={r.started - recorder.started:.1f}s "
                    "outside a database outage"
                )
        elif r.status is None:
            where = "in" if recorder.in_fault(r.started, r.ended) else "outside"
            counts[f"dropped connections {where} a fault window (retried)"] += 1
        elif r.status >= 500:
            counts[f"{r.status}"] += 1
        if r.kind == "put" and r.status and r.status < 300:
            if not recorder.in_fault(r.started, r.ended):
                latencies.append((r.ended - r.started) * 1000)
    return {"responses": dict(counts), "latency_ms": _percentiles(latencies)}


def _percentiles(values: list[float]) -> dict:
    if len(values) < 2:
        return {"count": len(values), "p50": None, "p99": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"count": len(values), "p50": round(cuts[49], 1), "p99": round(cuts[98], 1)}
