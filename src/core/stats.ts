/**
 * Counters of a {@link RouletteCore}, read with {@link RouletteCore.stats}.
 *
 * @module
 */
import type { ErrorKind } from './messages.js';

/** A snapshot of the core's counters and sizes. */
export interface RouletteStats {
  /** Open connections (registered or not). */
  connections: number;
  /** Registered clients. */
  clients: number;
  /** Current pairs. */
  pairs: number;
  /** Epoch boundaries passed since the core was created. */
  epochs: number;
  /** `comm` lines relayed. */
  relayedMessages: number;
  /** Bytes of relayed lines, without terminators. */
  relayedBytes: number;
  /**
   * Error replies sent, by kind; for `rate limited`, the lines dropped by the rate
   * limit (one reply counts many).
   */
  errors: Record<ErrorKind, number>;
  /** Connections ever opened. */
  connectionsOpened: number;
  /**
   * Relayed lines by size: `relayedLineBytes[i]` lines had at most
   * {@link RELAYED_LINE_BYTES_BOUNDS}`[i]` bytes (and more than the bound before);
   * the last entry counts the lines above every bound. Not cumulative.
   */
  relayedLineBytes: number[];
  /**
   * A clustered core's view of the cluster, from its matchmaker (for
   * `@chat-roulette/redis`: nodes, clients and pairs cluster-wide, leader, relay counters).
   * Absent with the default, local matchmaker.
   */
  cluster?: Readonly<Record<string, unknown>>;
}

/** Upper bounds, in bytes, of the buckets of {@link RouletteStats.relayedLineBytes}. */
export const RELAYED_LINE_BYTES_BOUNDS: readonly number[] = Object.freeze([64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576]);

/** The index in {@link RouletteStats.relayedLineBytes} of a line of `bytes` bytes. */
export function relayedLineBucket(bytes: number): number {
  let i = 0;
  while (i < RELAYED_LINE_BYTES_BOUNDS.length && bytes > (RELAYED_LINE_BYTES_BOUNDS[i] as number)) i++;
  return i;
}

/** A zeroed error counter. */
export function emptyErrorCounts(): Record<ErrorKind, number> {
  return {
    'message too long': 0,
    'invalid json': 0,
    'invalid message': 0,
    'invalid uco': 0,
    'uco mismatch': 0,
    'missing cmd': 0,
    'not registered': 0,
    'no peer': 0,
    failed: 0,
    'unknown command': 0,
    'rate limited': 0,
  };
}
