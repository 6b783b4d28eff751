// The operator's live view: the scheduler, recent transfers, failures and failed
// authentications, and taps per second, read with the admin key every two seconds.

import { call, refusalWords, Unreachable } from "./api.js";
import { TapRate } from "./chart.js";
import { formatMoney } from "./money.js";

const KEY = "tapbank.adminKey";
const REFRESH_MS = 2000;
const ROWS = 15;
const PAGE = 200;
const MAX_PAGES = 5; // per list and refresh: up to 500 ended taps a second are counted in full

const $ = (id) => document.getElementById(id);
const rate = new TapRate($("chart"), $("chart-summary"));
let timer = null;
let paused = false;
let lastGood = null;

function say(kind, text) {
  const banner = $("connection");
  if (banner.textContent === text && banner.className === `banner ${kind}`) return;
  banner.className = `banner ${kind}`;
  banner.textContent = text;
}

function schedule(ms = REFRESH_MS) {
  clearTimeout(timer);
  timer = paused ? null : setTimeout(refresh, ms);
}

function stop() {
  clearTimeout(timer);
  timer = null;
}

async function get(path) {
  return call("GET", path, sessionStorage.getItem(KEY));
}

/** Read a list newest first, counting each ended tap for the chart, until what was counted
 * before; the first page's answer. */
async function collect(path, countEach) {
  let answer = await get(`${path}?limit=${PAGE}`);
  const first = answer;
  for (let pages = 1; answer.ok; pages += 1) {
    rate.skewMs = Number.isNaN(answer.serverTime) ? 0 : answer.serverTime - Date.now();
    const fresh = answer.body.items.map(countEach).every(Boolean);
    if (!fresh || !answer.body.next_cursor) break;
    if (pages === MAX_PAGES) {
      rate.partial = true;
      break;
    }
    answer = await get(`${path}?limit=${PAGE}&cursor=${encodeURIComponent(answer.body.next_cursor)}`);
  }
  return first;
}

async function refresh() {
  if (!sessionStorage.getItem(KEY)) {
    say("", "Enter the admin key to watch.");
    return;
  }
  try {
    const answers = await Promise.all([
      get("/api/v1/scheduler"),
      collect("/api/v1/transfers", (t) => t.kind !== "tap" || rate.count(t.id, "settled", t.created_at)),
      collect("/api/v1/reconciliation-failures", (f) => rate.count(f.key, "failed", f.failure.failed_at)),
      get(`/api/v1/auth-failures?limit=${ROWS}`),
    ]);
    const refused = answers.find((answer) => !answer.ok);
    if (refused) {
      refusedBy(refused);
      return;
    }
    const [scheduler, transfers, failures, authFailures] = answers.map((answer) => answer.body);
    showScheduler(scheduler);
    showTransfers(transfers.items.slice(0, ROWS));
    showFailures(failures.items.slice(0, ROWS));
    showAuthFailures(authFailures.items);
    rate.draw();
    lastGood = new Date();
    $("updated").textContent = `Updated at ${clock(lastGood)}.`;
    say("good", "Connected: tapbank and its database answer.");
    schedule();
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    say("bad", `${error.message} ${since()} Trying again every 2 s.`);
    schedule();
  }
}

function since() {
  return lastGood ? `What is shown is from ${clock(lastGood)}.` : "";
}

function refusedBy(answer) {
  const error = answer.body?.error;
  if (error === "unauthorized" || error === "forbidden") {
    sessionStorage.removeItem(KEY);
    stop();
    const which = error === "forbidden" ? "is not the admin key (403)" : "was refused (401)";
    say("bad", `That key ${which}. Enter the admin key again.`);
    return;
  }
  if (error === "database_unavailable") {
    say("bad", `tapbank answers, but its database cannot be reached (503). ${since()} Trying again every 2 s.`);
  } else {
    say("bad", `${refusalWords(answer)} ${since()}`);
  }
  schedule(answer.retryAfter ? Math.max(REFRESH_MS, Number(answer.retryAfter) * 1000) : REFRESH_MS);
}

// -- rendering ---------------------------------------------------------------------------------

function clock(date) {
  return date.toLocaleTimeString("en-GB");
}

function when(at) {
  return at ? clock(new Date(at)) : "never";
}

function ago(at) {
  if (!at) return "never";
  const seconds = Math.max(0, Math.round((Date.now() + rate.skewMs - Date.parse(at)) / 1000));
  return `${seconds} s ago`;
}

function shortId(id) {
  const code = document.createElement("code");
  code.textContent = id ? id.slice(0, 8) : "none";
  return code;
}

function cell(content, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.append(content ?? "");
  return td;
}

function fill(tbody, rows, columns, empty) {
  if (!rows.length) {
    const td = cell(empty);
    td.colSpan = columns;
    const tr = document.createElement("tr");
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells);
      return tr;
    }),
  );
}

function showScheduler(status) {
  $("scheduler-health").textContent = status.healthy
    ? "Healthy: a live worker's last reconcile run had no error."
    : "Not healthy: no live worker, or the last reconcile run failed.";
  const { backlog } = status;
  const facts = [
    ["Matched pairs waiting", backlog.matched],
    ["Lone halves waiting", backlog.awaiting],
    ["Oldest matched pair", `${backlog.oldest_matched_age_s.toFixed(1)} s`],
    ["Pairs set aside", backlog.set_aside.count],
    ["Oldest set aside", `${backlog.set_aside.oldest_age_s.toFixed(1)} s`],
    ["Why the last was set aside", backlog.set_aside.last_error || "none"],
  ];
  $("backlog").replaceChildren(
    ...facts.flatMap(([term, value]) => [
      Object.assign(document.createElement("dt"), { textContent: term }),
      Object.assign(document.createElement("dd"), { textContent: String(value) }),
    ]),
  );
  fill(
    $("workers"),
    status.workers.map((w) => [
      cell(shortId(w.id)),
      cell(w.hostname),
      cell(String(w.pid), "number"),
      cell(w.state),
      cell(ago(w.last_heartbeat_at)),
      cell(when(w.started_at)),
    ]),
    6,
    "No worker has registered.",
  );
  fill(
    $("jobs"),
    status.jobs.map((j) => [
      cell(j.id),
      cell(shortId(j.worker_id)),
      cell(ago(j.last_run_at)),
      cell(j.last_duration_ms === null ? "" : `${j.last_duration_ms} ms`, "number"),
      cell(j.last_result || "", "wrap"),
      cell(j.last_error || "none", "wrap"),
    ]),
    6,
    "No job has run.",
  );
}

function showTransfers(items) {
  fill(
    $("transfers"),
    items.map((t) => [
      cell(when(t.created_at)),
      cell(t.kind),
      cell(formatMoney(t.amount, t.currency), "number"),
      cell(t.kind === "deposit" ? "funding account" : shortId(t.debit_account_id)),
      cell(shortId(t.credit_account_id)),
      cell(t.tap_key ? shortId(t.tap_key) : t.memo || ""),
    ]),
    6,
    "No transfer yet.",
  );
}

function showFailures(items) {
  fill(
    $("failures"),
    items.map(({ key, sender, receiver, failure }) => {
      const half = sender || receiver;
      return [
        cell(when(failure.failed_at)),
        cell(shortId(key)),
        cell(failure.reasons.map((r) => r.reason).join(", "), "wrap"),
        cell(half ? formatMoney(half.amount, half.currency) : "", "number"),
        cell(sender ? shortId(sender.account_id) : "no half"),
        cell(receiver ? shortId(receiver.account_id) : "no half"),
      ];
    }),
    6,
    "No failed tap yet.",
  );
}

function showAuthFailures(items) {
  fill(
    $("auth-failures"),
    items.map((a) => [
      cell(when(a.occurred_at)),
      cell(a.client_address),
      cell(a.method),
      cell(a.route),
      cell(a.key_fingerprint || "no key sent"),
    ]),
    5,
    "No failed authentication yet.",
  );
}

// -- controls ----------------------------------------------------------------------------------

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("admin-key");
  const key = input.value.trim();
  if (!key) {
    say("bad", "Enter the admin key first.");
    input.focus();
    return;
  }
  sessionStorage.setItem(KEY, key);
  input.value = "";
  say("wait", "Reading tapbank with this key...");
  refresh();
});

$("forget").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  stop();
  say("", "The key is forgotten. Enter the admin key to watch.");
});

$("pause").addEventListener("click", (event) => {
  paused = !paused;
  event.currentTarget.setAttribute("aria-pressed", String(paused));
  event.currentTarget.textContent = paused ? "Resume updates" : "Pause updates";
  if (paused) stop();
  else refresh();
});

refresh();
