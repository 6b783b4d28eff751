// Amounts: integer minor units on the wire, major units with their currency for people.

/** How many decimals the currency's minor unit has (ISO 4217, as the browser knows it). */
export function minorDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** 1250 USD as "12.50 USD", grouped by thousands. */
export function formatMoney(minor, currency) {
  const digits = minorDigits(currency);
  const scale = 10 ** digits;
  const sign = minor < 0 ? "-" : "";
  const whole = Math.floor(Math.abs(minor) / scale).toLocaleString("en");
  const fraction = digits ? `.${String(Math.abs(minor) % scale).padStart(digits, "0")}` : "";
  return `${sign}${whole}${fraction} ${currency}`;
}

/** "12.50" in USD as 1250, exactly; throws an Error with a plain message otherwise. */
export function parseMajor(text, currency) {
  const digits = minorDigits(currency);
  const match = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(text);
  if (!match) throw new Error("Enter an amount such as 12.50: digits, and a point for decimals.");
  const decimals = match[2] || "";
  if (decimals.length > digits) {
    throw new Error(`${currency} has ${digits} decimal${digits === 1 ? "" : "s"} at most.`);
  }
  const minor = Number(match[1]) * 10 ** digits + Number(decimals.padEnd(digits, "0") || "0");
  if (!Number.isSafeInteger(minor) || minor <= 0) throw new Error("Enter an amount above zero.");
  return minor;
}

/** One unit of the currency in minor units: 100 for USD, 1 for JPY. */
export function oneUnit(currency) {
  return 10 ** minorDigits(currency);
}
