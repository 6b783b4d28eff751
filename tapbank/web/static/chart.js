// Settled and failed taps per second over the last minutes, counted from the operator's lists
// as they are read, and drawn as plain SVG bars.

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 60;
export const WINDOW_S = 180;

export class TapRate {
  constructor(svg, summary) {
    this.svg = svg;
    this.summary = summary;
    this.seen = new Map(); // what was counted (a transfer's or a tap's id) -> its second
    this.counts = new Map(); // second -> {settled, failed}
    this.skewMs = 0; // the server's clock less this browser's, from the answers' Date header
    this.partial = false;
  }

  now() {
    return Math.floor((Date.now() + this.skewMs) / 1000);
  }

  /** Count one ended tap once. False when it was counted before or is older than the window:
   * the lists are newest first, so what follows it was counted too. */
  count(id, kind, at) {
    const second = Math.floor(Date.parse(at) / 1000);
    if (this.seen.has(id) || second <= this.now() - WINDOW_S) return false;
    this.seen.set(id, second);
    const bucket = this.counts.get(second) || { settled: 0, failed: 0 };
    bucket[kind] += 1;
    this.counts.set(second, bucket);
    return true;
  }

  /** Redraw the bars and the summary that says the same in words. */
  draw() {
    const start = this.now() - WINDOW_S + 1;
    this.#forgetBefore(start);
    const seconds = Array.from({ length: WINDOW_S }, (_, at) => start + at);
    const buckets = seconds.map((second) => this.counts.get(second) || { settled: 0, failed: 0 });
    const peak = Math.max(1, ...buckets.map((b) => b.settled + b.failed));
    const bars = [];
    buckets.forEach((bucket, x) => {
      const settled = (bucket.settled / peak) * (HEIGHT - 2);
      const failed = (bucket.failed / peak) * (HEIGHT - 2);
      if (settled) bars.push(bar(x, HEIGHT - settled, settled, "settled"));
      if (failed) bars.push(bar(x, HEIGHT - settled - failed, failed, "failed"));
    });
    this.svg.replaceChildren(...bars);
    this.summary.textContent = this.#words(buckets, peak);
  }

  #words(buckets, peak) {
    const total = (list, kind) => list.reduce((sum, bucket) => sum + bucket[kind], 0);
    const recent = buckets.slice(-10);
    const busiest = buckets.some((b) => b.settled + b.failed) ? peak : 0;
    return (
      `In the last 3 minutes: ${total(buckets, "settled")} settled and ` +
      `${total(buckets, "failed")} failed. In the last 10 seconds: ` +
      `${total(recent, "settled")} settled and ${total(recent, "failed")} failed. ` +
      `The busiest second had ${busiest} tap${busiest === 1 ? "" : "s"}.` +
      (this.partial ? " More taps ended than the lists could be read for: these are at least." : "")
    );
  }

  #forgetBefore(start) {
    for (const [id, second] of this.seen) if (second < start) this.seen.delete(id);
    for (const second of this.counts.keys()) if (second < start) this.counts.delete(second);
  }
}

function bar(x, y, height, kind) {
  const rect = document.createElementNS(SVG, "rect");
  rect.setAttribute("x", x + 0.1);
  rect.setAttribute("y", y);
  rect.setAttribute("width", 0.8);
  rect.setAttribute("height", height);
  rect.setAttribute("class", kind);
  return rect;
}
