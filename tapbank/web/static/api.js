// tapbank's public API over fetch, and its answers in plain words. Shared by both pages.

export class Unreachable extends Error {}

/** Send one request; resolve to {status, ok, body, retryAfter, serverTime}, or reject with
 * Unreachable when no answer comes. */
export async function call(method, path, key, body) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new Unreachable(`tapbank cannot be reached at ${location.origin}. Is it running?`);
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return {
    status: response.status,
    ok: response.ok,
    body: parsed,
    retryAfter: response.headers.get("Retry-After"),
    serverTime: Date.parse(response.headers.get("Date")),
  };
}

/** What an error answer means, in one or two plain sentences. */
export function refusalWords(answer) {
  const error = answer.body && answer.body.error;
  const message = (answer.body && answer.body.message) || `tapbank answered ${answer.status}.`;
  switch (error) {
    case "receiver_not_named":
      return "This tap names another account as its payee. Nothing was stored and no money moved.";
    case "half_conflict":
      return "Another phone already sent this side of the tap, or sent it differently. Nothing was stored.";
    case "unauthorized":
      return "This key is not valid (401). Check it, or rotate it.";
    case "forbidden":
      return "This key may not do that (403).";
    case "too_many_failed_authentications":
      return `Too many failed keys from this address; retry in ${answer.retryAfter || "a few"} s.`;
    case "database_unavailable":
      return "tapbank answers, but its database cannot be reached right now (503). Retry shortly.";
    case "busy":
      return "tapbank was too busy to take this in time; nothing was stored (503). Retry shortly.";
    case "validation_failed": {
      const fields = Object.entries(answer.body.errors || {})
        .map(([field, problems]) => `${field}: ${[].concat(problems).flat().join(" ")}`)
        .join("; ");
      return `${message}${fields ? ` (${fields})` : ""}`;
    }
    default:
      return `tapbank answered ${answer.status}: ${message}`;
  }
}
