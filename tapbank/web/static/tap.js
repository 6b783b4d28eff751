// The tap page: three phones, the Tap button, and the buttons that make a tap fail on purpose.

import { call } from "./api.js";
import * as keyring from "./keyring.js";
import { formatMoney, oneUnit, parseMajor } from "./money.js";
import { Phone, unreachableWords } from "./phone.js";
import { learnOutcome, newTapKey, receiverHalf, sendHalf, senderHalf } from "./taps.js";

const phones = {
  payer: new Phone("payer", "payer's phone"),
  payee: new Phone("payee", "payee's phone"),
  stranger: new Phone("stranger", "stranger's phone"),
};
const notice = document.getElementById("notice");
const BUTTONS = [
  "tap",
  "fail-amount",
  "fail-payer",
  "fail-overdraw",
  "fail-currency",
  "fail-expire",
  "fail-stranger",
  "refuse-stranger",
];
const MAX_DELAY_MS = 10_000;
let busy = false;

function say(text) {
  notice.textContent = text;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// What each button sends: a list of {phone, side, body}, in order, the delay apart.
const SCENARIOS = {
  tap: (plan) => pair(plan),
  "fail-amount": (plan) => pair(plan, { amount: plan.amount + oneUnit(plan.currency) }),
  "fail-payer": (plan) => pair(plan, { payerId: anotherPayer(plan) }),
  "fail-currency": (plan) => pair(plan, { currency: plan.currency === "EUR" ? "USD" : "EUR" }),
  "fail-overdraw": overdraw,
  "fail-expire": (plan) => [payerHalf(plan)],
  "fail-stranger": (plan) => {
    const stranger = strangerOf(plan);
    plan.bind = true;
    return [payeeHalf(plan, {}, stranger), payerHalf(plan), payeeHalf(plan)];
  },
  "refuse-stranger": (plan) => {
    const stranger = strangerOf(plan);
    plan.bind = true;
    return [payerHalf(plan), payeeHalf(plan, {}, stranger), payeeHalf(plan)];
  },
};

function payerHalf(plan) {
  const payeeId = plan.bind ? plan.payee.account.id : null;
  const body = senderHalf(plan.payer, { amount: plan.amount, currency: plan.currency, payeeId });
  return { phone: plan.payer, side: "sender", body };
}

/** The payee's half, with what it expects changed by `expected`, sent by `phone`. */
function payeeHalf(plan, expected = {}, phone = plan.payee) {
  const body = receiverHalf(phone, {
    payerId: plan.payer.account.id,
    amount: plan.amount,
    currency: plan.currency,
    ...expected,
  });
  return { phone, side: "receiver", body };
}

function pair(plan, expected = {}) {
  const halves = [payerHalf(plan), payeeHalf(plan, expected)];
  return plan.payeeFirst ? halves.reverse() : halves;
}

function strangerOf(plan) {
  const stranger = phones.stranger;
  const taken = [plan.payer.account.id, plan.payee.account.id];
  if (!stranger.account || taken.includes(stranger.account.id)) {
    throw new Error("Choose a third account on the stranger's phone first.");
  }
  return stranger;
}

function anotherPayer(plan) {
  const other = phones.stranger.account;
  const taken = [plan.payer.account.id, plan.payee.account.id];
  return other && !taken.includes(other.id) ? other.id : newTapKey();
}

/** The payer pays one unit more than its balance; one too rich for that swaps with the stranger. */
async function overdraw(plan) {
  const max = keyring.demoSettings()?.max_transfer_minor ?? 1_000_000;
  if (plan.payer.balance === null) throw new Error("The payer's balance cannot be read.");
  if (plan.payer.balance + oneUnit(plan.currency) > max) {
    const poorer = phones.stranger.account;
    if (!poorer || poorer.id === plan.payee.account.id) {
      throw new Error("To overdraw, choose a payer whose balance is less than one tap may move.");
    }
    const richer = plan.payer.account;
    await phones.payer.offer(poorer.id);
    await phones.stranger.offer(richer.id);
    if (phones.payer.balance + oneUnit(plan.currency) > max) {
      throw new Error("To overdraw, choose a payer whose balance is less than one tap may move.");
    }
    say(
      `${richer.owner} holds more than one tap may move, so the phones swap: ` +
        `${poorer.owner} pays now, and ${richer.owner} is the stranger.`,
    );
  }
  plan.amount = phones.payer.balance + oneUnit(plan.currency);
  return pair(plan);
}

/** The form as a plan: who pays whom, how much, in which order, how far apart. */
function readPlan() {
  const { payer, payee } = phones;
  if (!payer.account || !payee.account) {
    throw new Error("Choose an account on the payer's and the payee's phone first.");
  }
  const currency = payer.currency || keyring.demoSettings()?.currency || "USD";
  const delay = Number(document.getElementById("delay").value);
  return {
    payer,
    payee,
    currency,
    amount: parseMajor(document.getElementById("amount").value, currency),
    delay: Number.isFinite(delay) ? Math.min(Math.max(delay, 0), MAX_DELAY_MS) : 0,
    bind: document.getElementById("bind").checked,
    payeeFirst: document.querySelector('input[name="order"]:checked').value === "payee",
  };
}

/** The payer's phone makes the key; each half goes in turn; each phone heard learns the end. */
async function tap(plan, sends) {
  Object.values(phones).forEach((phone) => phone.clear());
  // On a narrow screen the phones are below the button: bring the payer's into view.
  const payer = document.getElementById("payer");
  if (payer.getBoundingClientRect().top > window.innerHeight) payer.scrollIntoView();
  const key = newTapKey();
  const code = Object.assign(document.createElement("code"), { textContent: key });
  plan.payer.step(
    "Made the tap key ",
    code,
    ` for ${formatMoney(plan.amount, plan.currency)} and passed it to the payee's phone` +
      (plan.bind ? ", naming the payee in its half." : "."),
  );
  const learning = [];
  for (const [at, { phone, side, body }] of sends.entries()) {
    if (at) await sleep(plan.delay);
    const answer = await sendHalf(phone, key, side, body);
    if (answer?.ok) learning.push(learnOutcome(phone, key, answer.body, Date.now()));
  }
  await Promise.all(learning);
  const told = new Set(sends.map(({ phone }) => phone));
  await Promise.all(Object.values(phones).filter((p) => !told.has(p)).map((p) => p.refresh()));
  if (!sends.some(({ phone }) => phone === plan.payee)) {
    plan.payee.show("waiting", "This phone never sent its half.");
  }
}

async function run(name) {
  if (busy) {
    say("A tap is still in progress: wait for its outcome.");
    return;
  }
  busy = true;
  BUTTONS.forEach((id) => document.getElementById(id).setAttribute("aria-disabled", "true"));
  try {
    say("");
    const plan = readPlan();
    await tap(plan, await SCENARIOS[name](plan));
  } catch (error) {
    say(error.message);
  } finally {
    busy = false;
    BUTTONS.forEach((id) => document.getElementById(id).removeAttribute("aria-disabled"));
  }
}

async function loadDemo() {
  try {
    const answer = await call("GET", "/demo/accounts");
    if (answer.ok) {
      const { accounts, ...settings } = answer.body;
      keyring.remember(accounts);
      keyring.rememberDemoSettings(settings);
      say(`Demo accounts ready: ${accounts.map((account) => account.owner).join(", ")}.`);
    } else {
      say(
        "No demo accounts here: they are given only in development, to a browser on the " +
          "machine tapbank runs on. Paste an account's id and key into each phone.",
      );
    }
  } catch (error) {
    say(unreachableWords(error));
  }
}

function showCurrency() {
  const currency = phones.payer.currency || keyring.demoSettings()?.currency || "USD";
  document.getElementById("amount-currency").textContent = currency;
}

async function start() {
  await loadDemo();
  const chosen = keyring.choices();
  const known = keyring.accounts().map((account) => account.id);
  const roles = Object.keys(phones);
  phones.payer.onRefresh = showCurrency;
  await Promise.all(
    roles.map((role, at) =>
      phones[role].offer(known.includes(chosen[role]) ? chosen[role] : known[at]),
    ),
  );
  document.addEventListener("accounts-changed", () =>
    roles.forEach((role) => phones[role].offer(phones[role].account?.id)),
  );
  document.getElementById("tap-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run("tap");
  });
  BUTTONS.filter((id) => id !== "tap").forEach((id) =>
    document.getElementById(id).addEventListener("click", () => run(id)),
  );
  document.body.dataset.ready = "true";
}

start();
