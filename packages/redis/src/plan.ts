/**
 * The epoch plan (PROTOCOL §6), as the core's own plan does it (src/core/matchmaking/plan.ts,
 * which the core does not export): a random order, consecutive clients paired, a repeat
 * of the previous epoch's pair avoided when any other choice exists. O(n).
 *
 * @module
 */
import type { Random } from 'chat-roulette';

/** Shuffles `clients` in place with `random` and pairs them, avoiding repeats of `previous`. */
export function planEpoch<T>(clients: T[], previous: (client: T) => unknown, random: Random): Array<[T, T]> {
  for (let i = clients.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = clients[i] as T;
    clients[i] = clients[j] as T;
    clients[j] = t;
  }
  const pairCount = Math.floor(clients.length / 2);
  for (let k = 0; k < pairCount; k++) {
    const b = clients[2 * k + 1] as T;
    if (previous(clients[2 * k] as T) !== b) continue;
    let other: number;
    if (k + 1 < pairCount) other = 2 * k + 3;
    else if (k > 0) other = 2 * k - 1;
    else if (clients.length === 3) other = 2;
    else continue; // exactly two clients: no other choice
    clients[2 * k + 1] = clients[other] as T;
    clients[other] = b;
  }
  const pairs: Array<[T, T]> = [];
  for (let i = 0; i + 1 < pairCount * 2; i += 2) pairs.push([clients[i] as T, clients[i + 1] as T]);
  return pairs;
}
