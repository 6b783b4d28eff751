// A tap as phones make it: the key, the two halves, and the outcome each phone is told.

import { call, refusalWords } from "./api.js";
import * as keyring from "./keyring.js";
import { formatMoney } from "./money.js";
import { unreachableWords } from "./phone.js";

// Each failure reason, as the person holding the phone would want it said.
const REASONS = {
  insufficient_funds: "The payer's balance does not cover the amount.",
  sender_mismatch: "The payee's phone expected a different payer.",
  amount_mismatch: "The two phones entered different amounts.",
  expired: "The other phone's half did not arrive in time.",
  currency_mismatch: "The two phones used different currencies.",
  self_transfer: "An account cannot pay itself.",
  account_inactive: "One of the two accounts is frozen.",
  receiver_mismatch:
    "The payer's phone named another payee: a stranger's phone answered the tap first.",
};

const STATUS = {
  awaiting_receiver: "the tap waits for the payee's half",
  awaiting_sender: "the tap waits for the payer's half",
  matched: "both halves are in; the tap waits for tapbank's reconciler",
  settled: "the tap is settled",
  failed: "the tap has failed",
};

const ENDED = new Set(["settled", "failed"]);
const POLL_MS = 250;

/** A random tap key: a version 4 UUID, as the payer's phone makes it. */
export function newTapKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Outside a secure context (plain http on another host) randomUUID is missing.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function device(phone) {
  return { os: "web", model: `tapbank page, ${phone.label}` };
}

/** The payer's half; payeeId, when given, binds the tap to that account. */
export function senderHalf(phone, { amount, currency, payeeId }) {
  const half = { amount, currency, device: device(phone), tapped_at: new Date().toISOString() };
  if (payeeId) half.receiver_account_id = payeeId;
  return half;
}

/** The payee's half: whom it expects to pay it, and how much. */
export function receiverHalf(phone, { payerId, amount, currency }) {
  return {
    sender_account_id: payerId,
    amount,
    currency,
    device: device(phone),
    tapped_at: new Date().toISOString(),
  };
}

/** PUT one half from phone and log it; the answer, or null when tapbank cannot be reached. */
export async function sendHalf(phone, key, side, body) {
  const what = `PUT /api/v1/taps/${key}/${side}`;
  try {
    const answer = await call("PUT", `/api/v1/taps/${key}/${side}`, phone.account.key, body);
    if (answer.ok) {
      phone.step(`${what}: ${answer.status}, ${STATUS[answer.body.status]}.`);
    } else {
      phone.step(`${what}: ${answer.status} ${answer.body?.error ?? ""}.`);
      phone.show("refused", "tapbank refused this phone's half.", [refusalWords(answer)]);
    }
    return answer;
  } catch (error) {
    phone.step(`${what}: no answer.`);
    phone.show("refused", "The half was not sent.", [unreachableWords(error)]);
    return null;
  }
}

/** Read the tap as phone sees it until it ends, counting down while it waits; tell the phone. */
export async function learnOutcome(phone, key, tap, acknowledgedAt) {
  const ttl = keyring.demoSettings()?.tap_ttl_seconds;
  const deadline = acknowledgedAt + ((ttl ?? 120) + 30) * 1000;
  let shown = null;
  while (!ENDED.has(tap.status)) {
    if (Date.now() > deadline) {
      phone.countdown("");
      phone.show("waiting", "No outcome yet.", [
        `Still, ${STATUS[tap.status]}. Is a reconciler worker running?`,
      ]);
      return tap;
    }
    if (shown !== tap.status) {
      phone.show("waiting", `Now ${STATUS[tap.status]}.`);
      shown = tap.status;
    }
    phone.countdown(countdownWords(tap.status, acknowledgedAt, ttl));
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      const answer = await call("GET", `/api/v1/taps/${key}`, phone.account.key);
      if (answer.ok) tap = answer.body;
    } catch {
      // A moment without tapbank: keep waiting until the deadline.
    }
  }
  phone.countdown("");
  await tell(phone, tap);
  return tap;
}

function countdownWords(status, acknowledgedAt, ttl) {
  if (status === "matched") return "";
  if (!ttl) return `Waiting alone for ${Math.floor((Date.now() - acknowledgedAt) / 1000)} s.`;
  const left = Math.ceil((acknowledgedAt + ttl * 1000 - Date.now()) / 1000);
  if (left > 0) return `Expires in ${left} s unless the other half arrives.`;
  return "Time is up: tapbank's reconciler marks it expired within a second or two.";
}

async function tell(phone, tap) {
  if (tap.status === "settled") {
    const { amount, currency, sender_account_id: payer, receiver_account_id: payee } = tap.transfer;
    const money = formatMoney(amount, currency);
    let headline = `Settled: ${money} from ${ownerOf(payer)} to ${ownerOf(payee)}.`;
    if (payer === phone.account.id) headline = `Paid ${money} to ${ownerOf(payee)}.`;
    if (payee === phone.account.id) headline = `Received ${money} from ${ownerOf(payer)}.`;
    phone.show("settled", headline);
  } else {
    const reasons = tap.failure.reasons.map(({ reason }) => REASONS[reason] || tap.failure.message);
    phone.show("failed", "The tap failed. No money moved.", reasons);
  }
  await phone.refresh();
  if (phone.balance !== null) {
    const balance = phone.money(phone.balance);
    phone.addLine(
      tap.status === "settled" ? `New balance: ${balance}.` : `Balance: ${balance}, unchanged.`,
    );
  }
}

/** An account's owner as the page knows it, else the start of its id. */
export function ownerOf(id) {
  return keyring.find(id)?.owner || `account ${id.slice(0, 8)}`;
}
