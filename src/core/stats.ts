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
