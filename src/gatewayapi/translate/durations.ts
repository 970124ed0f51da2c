// Gateway API durations (GEP-2257): one to four `<1-5 digits><unit>` parts, units h, m, s and ms,
// e.g. `1h`, `500ms`, `1h2m3s`, `0s`. Nothing else (no fractions, no signs, no spaces).

const SHAPE = /^([0-9]{1,5}(h|ms|m|s)){1,4}$/;
const PART = /([0-9]{1,5})(h|ms|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds, or null when `text` is not a Gateway API duration. */
export function parseDuration(text: string): number | null {
  if (!SHAPE.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}
