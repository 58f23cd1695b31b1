/**
 * Small statistics helpers: percentiles of samples, and the median and range of
 * per-run figures.
 *
 * @module
 */

/** The `q`-quantile (0..1) of the first `count` values of `samples` (nearest rank); sorts them in place. */
export function percentiles(samples: Float64Array, count: number, qs: readonly number[]): number[] {
  if (count === 0) return qs.map(() => NaN);
  const view = samples.subarray(0, count).sort();
  return qs.map((q) => view[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))] as number);
}

/** Median and range of one figure over several runs. */
export interface Spread {
  /** Median over the runs. */
  readonly median: number;
  /** Smallest value. */
  readonly min: number;
  /** Largest value. */
  readonly max: number;
}

/** The median and range of `values` (NaN when empty). */
export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** `n` with `digits` significant-looking decimals, for tables. */
export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

/** `median [min–max]` of a spread. */
export function fmtSpread(s: Spread, digits = 1): string {
  if (Number.isNaN(s.median)) return '-';
  if (s.min === s.max) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
}

/** Rounds for the JSON line. */
export function round(n: number, digits = 3): number | null {
  if (!Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A spread rounded for the JSON line. */
export function spreadJson(s: Spread, digits = 3): { median: number | null; min: number | null; max: number | null } {
  return { median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits) };
}
