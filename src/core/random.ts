/**
 * Randomness for pairing: injectable, and seedable for reproducible runs (`--seed`).
 *
 * @module
 */

/** A source of uniform floats in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * A fast deterministic generator (mulberry32) seeded from a string or a number: the
 * same seed gives the same sequence on every platform.
 *
 * @example
 * ```ts
 * const core = new RouletteCore({ random: seededRandom('lab-3') });
 * ```
 */
export function seededRandom(seed: string | number): Random {
  // FNV-1a over the seed's text gives a 32-bit starting state.
  let state = 0x811c9dc5;
  for (const ch of String(seed)) {
    state ^= ch.codePointAt(0) ?? 0;
    state = Math.imul(state, 0x01000193) >>> 0;
  }
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `items` in place (Fisher–Yates) with `random`, and returns it. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
