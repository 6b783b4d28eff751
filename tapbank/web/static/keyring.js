// The accounts this tab may act for, with their keys: in session storage only, so they live as
// long as the tab and never reach the page's HTML, its address or another site.

const ACCOUNTS = "tapbank.accounts";
const CHOICES = "tapbank.phones";
const DEMO = "tapbank.demo";

function read(name, fallback) {
  try {
    return JSON.parse(sessionStorage.getItem(name)) ?? fallback;
  } catch {
    return fallback;
  }
}

/** Every known account: [{owner, id, key}]. */
export function accounts() {
  return read(ACCOUNTS, []);
}

/** Add or replace accounts by id, keeping the order they were first known in. */
export function remember(more) {
  const known = accounts();
  for (const account of more) {
    const at = known.findIndex((other) => other.id === account.id);
    if (at >= 0) known[at] = account;
    else known.push(account);
  }
  sessionStorage.setItem(ACCOUNTS, JSON.stringify(known));
}

export function find(id) {
  return accounts().find((account) => account.id === id) || null;
}

/** The account id each phone last used, by role. */
export function choices() {
  return read(CHOICES, {});
}

export function choose(role, id) {
  sessionStorage.setItem(CHOICES, JSON.stringify({ ...choices(), [role]: id }));
}

/** What the demo route said besides its accounts: currency, TTL, largest tap. */
export function demoSettings() {
  return read(DEMO, null);
}

export function rememberDemoSettings(settings) {
  sessionStorage.setItem(DEMO, JSON.stringify(settings));
}
