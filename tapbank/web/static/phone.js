// One phone on the page: the account it acts for, its balance, and what it was told.

import { call, refusalWords, Unreachable } from "./api.js";
import * as keyring from "./keyring.js";
import { formatMoney } from "./money.js";

const PASTE = "";

export class Phone {
  constructor(role, label) {
    this.role = role;
    this.label = label;
    buildParts(role, label);
    this.select = document.getElementById(`${role}-account`);
    this.pasted = document.getElementById(`${role}-pasted`);
    this.balanceLine = document.getElementById(`${role}-balance`);
    this.outcome = document.getElementById(`${role}-outcome`);
    // Outside the outcome's live region, so a screen reader is not read every second of it.
    this.countdownLine = document.getElementById(`${role}-countdown`);
    this.steps = document.getElementById(`${role}-steps`);
    this.account = null;
    this.onRefresh = () => {};
    this.balance = null;
    this.currency = null;
    this.select.addEventListener("change", () => this.#picked());
    this.pasted.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#usePasted();
    });
  }

  /** Offer every known account, choosing wanted (an id) if it is one of them. */
  offer(wanted) {
    this.select.replaceChildren(
      ...keyring.accounts().map((account) => new Option(account.owner, account.id)),
      new Option("Another account: paste its id and key", PASTE),
    );
    const known = keyring.find(wanted);
    this.select.value = known ? known.id : PASTE;
    return this.#picked();
  }

  async #picked() {
    const id = this.select.value;
    this.pasted.hidden = id !== PASTE;
    this.account = keyring.find(id);
    if (this.account) keyring.choose(this.role, this.account.id);
    await this.refresh();
  }

  async #usePasted() {
    const id = document.getElementById(`${this.role}-id`).value.trim();
    const keyInput = document.getElementById(`${this.role}-key`);
    const key = keyInput.value.trim();
    if (!id || !key) {
      this.show("refused", "This account cannot be used.", ["Enter both its id and its key."]);
      return;
    }
    const answer = await this.#read(id, key);
    if (!answer) return;
    keyInput.value = "";
    keyring.remember([{ owner: answer.owner_name, id: answer.id, key }]);
    await this.offer(answer.id);
    document.dispatchEvent(new CustomEvent("accounts-changed"));
    this.select.focus();
  }

  async #read(id, key) {
    try {
      const answer = await call("GET", `/api/v1/accounts/${encodeURIComponent(id)}`, key);
      if (answer.ok) return answer.body;
      this.show("refused", "This account cannot be used.", [refusalWords(answer)]);
    } catch (error) {
      this.show("refused", "This account cannot be used.", [unreachableWords(error)]);
    }
    return null;
  }

  /** Read the account's balance again and show it. */
  async refresh() {
    await this.#readBalance();
    this.onRefresh();
  }

  async #readBalance() {
    if (!this.account) {
      this.balance = this.currency = null;
      this.balanceLine.textContent = "No account chosen.";
      return;
    }
    try {
      const answer = await call("GET", `/api/v1/accounts/${this.account.id}`, this.account.key);
      if (!answer.ok) {
        this.balanceLine.textContent = `Cannot read the balance: ${refusalWords(answer)}`;
        return;
      }
      this.balance = answer.body.balance;
      this.currency = answer.body.currency;
      this.balanceLine.textContent = `${this.account.owner}: balance ${this.money(this.balance)}`;
    } catch (error) {
      this.balanceLine.textContent = unreachableWords(error);
    }
  }

  money(minor) {
    return formatMoney(minor, this.currency || keyring.demoSettings()?.currency || "USD");
  }

  /** Forget what the last tap told this phone. */
  clear() {
    this.countdown("");
    this.outcome.replaceChildren();
    this.outcome.className = "outcome";
    this.steps.replaceChildren();
  }

  /** Add a line to the phone's log of what it sent and got. */
  step(...parts) {
    const item = document.createElement("li");
    item.append(...parts);
    this.steps.append(item);
  }

  /** The outcome in plain words: kind is settled, failed, refused or waiting. */
  show(kind, headline, lines = []) {
    const title = document.createElement("p");
    title.className = "headline";
    title.textContent = headline;
    const parts = [title];
    if (lines.length > 1) {
      const list = document.createElement("ul");
      list.append(...lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
      parts.push(list);
    } else if (lines.length === 1) {
      parts.push(Object.assign(document.createElement("p"), { textContent: lines[0] }));
    }
    this.outcome.className = `outcome ${kind}`;
    this.outcome.replaceChildren(...parts);
  }

  /** The seconds a lone half has left, or "" once there is nothing to count. */
  countdown(text) {
    this.countdownLine.textContent = text;
  }

  /** Add one more sentence under the outcome (the new balance). */
  addLine(text) {
    this.outcome.append(Object.assign(document.createElement("p"), { textContent: text }));
  }
}

/** Fill the phone's section from the page's template, each part's id prefixed by its role. */
function buildParts(role, label) {
  const parts = document.getElementById("phone-parts").content.cloneNode(true);
  parts.querySelectorAll("[data-id]").forEach((part) => {
    part.id = `${role}-${part.dataset.id}`;
  });
  parts.querySelectorAll("[data-for]").forEach((part) => {
    part.htmlFor = `${role}-${part.dataset.for}`;
  });
  parts.querySelector("ol").setAttribute("aria-label", `What the ${label} sent and got`);
  document.getElementById(role).append(parts);
}

export function unreachableWords(error) {
  return error instanceof Unreachable ? error.message : `Something went wrong: ${error.message}`;
}
