/**
 * Pure pairing plans (PROTOCOL §6), shared by every matchmaker: a random order, then
 * consecutive clients are paired, avoiding a repeat of the previous epoch's pairs.
 *
 * @module
 */
import { shuffle, type Random } from '../random.js';

/**
 * PROTOCOL §6 epoch: shuffles `clients` and reorders them so that no consecutive pair
 * (0-1, 2-3, ...) repeats a previous pair when any other choice exists; `previous`
 * gives each client's peer before the boundary. Returns the pairs; with an odd count
 * the last client is left out (it stays free). O(n).
 */
export function planEpoch<T>(clients: T[], previous: (client: T) => unknown, random: Random): Array<[T, T]> {
  shuffle(clients, random);
  avoidRepeats(clients, previous);
  return consecutivePairs(clients);
}

/** Pairs `list[0]` with `list[1]`, `list[2]` with `list[3]`, ... */
export function consecutivePairs<T>(list: readonly T[]): Array<[T, T]> {
  const pairs: Array<[T, T]> = [];
  for (let i = 0; i + 1 < list.length; i += 2) pairs.push([list[i] as T, list[i + 1] as T]);
  return pairs;
}

/**
 * Reorders a shuffled list so that no consecutive pair repeats a previous pair, when
 * any other choice exists. Previous pairs form a matching, so swapping partners with
 * a neighbouring pair (or with the odd one out) always removes the repeat without
 * creating another: one pass, O(n).
 */
export function avoidRepeats<T>(list: T[], previous: (client: T) => unknown): void {
  const pairCount = Math.floor(list.length / 2);
  for (let k = 0; k < pairCount; k++) {
    const a = list[2 * k] as T;
    const b = list[2 * k + 1] as T;
    if (previous(a) !== b) continue;
    let other: number;
    if (k + 1 < pairCount) other = 2 * k + 3;
    else if (k > 0) other = 2 * k - 1;
    else if (list.length === 3) other = 2;
    else continue; // exactly two clients: no other choice
    list[2 * k + 1] = list[other] as T;
    list[other] = b;
  }
}
