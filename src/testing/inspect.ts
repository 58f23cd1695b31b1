/**
 * The test kit's window into a core: a read-only snapshot of what the engine holds
 * behind the {@link RouletteCore} façade — each connection's state, peer, deadline and
 * buffered input, and what the matchmaker counts. For property tests and debugging;
 * the snapshot is a copy, so changing it changes nothing.
 *
 * @module
 */
import type { RouletteCore } from '../core/core.js';
import { engineOf } from '../core/engine.js';
import { isLocal, type Connection } from '../core/connection.js';

/** One connection as {@link inspectCore} sees it. */
export interface ConnectionView {
  /** The connection's id (as in events and `ConnectionHandle.id`). */
  readonly id: number;
  /** The registered uco, or `undefined` before `connect`. */
  readonly uco: string | undefined;
  /** The registered session. */
  readonly session: string;
  /** `open`, or `closing` while a server-side close ends the transport. */
  readonly state: 'open' | 'closing' | 'closed';
  /** The current peer's uco, when paired. */
  readonly peer: string | undefined;
  /** The current peer's connection id, when the peer is a connection of this core. */
  readonly peerId: number | undefined;
  /** Clock time the transport was attached. */
  readonly openedAt: number;
  /** Clock time of the last `pong` (or registration) of a registered connection. */
  readonly lastSeen: number | undefined;
  /** PROTOCOL §5: open and not dead (may be chosen for pairing). */
  readonly alive: boolean;
  /** Registered and waiting for a peer (free, PROTOCOL §6). */
  readonly waiting: boolean;
  /** Bytes held for an unfinished input line (PROTOCOL §1 bound). */
  readonly inputBufferedBytes: number;
}

/** What {@link inspectCore} returns. */
export interface CoreView {
  /** Open connections, in the order they opened. */
  readonly connections: readonly ConnectionView[];
  /** Registered clients, in registration order. */
  readonly clients: readonly ConnectionView[];
  /** Current pairs, as the matchmaker counts them. */
  readonly pairs: number;
  /** Connections the liveness tracker holds a deadline for. */
  readonly deadlines: number;
  /** Seats the matchmaker holds as waiting for a peer (each should be an open, registered connection). */
  readonly waiting: number;
}

/**
 * A snapshot of `core`'s internals, for tests that check invariants the public API
 * does not show (symmetric pairs, deadlines, free clients, buffered input).
 *
 * @example
 * ```ts
 * import { inspectCore } from 'chat-roulette/testing';
 * const view = inspectCore(harness.core);
 * for (const c of view.clients) if (c.peer === undefined) assert.ok(c.waiting);
 * ```
 */
export function inspectCore(core: RouletteCore): CoreView {
  const engine = engineOf(core);
  const waiting = new Set(engine.matchmaker.waiting());
  const view = (conn: Connection): ConnectionView => ({
    id: conn.id,
    uco: conn.uco,
    session: conn.session,
    state: conn.state,
    peer: conn.peer?.uco,
    peerId: conn.peer !== undefined && isLocal(conn.peer) ? conn.peer.id : undefined,
    openedAt: conn.openedAt,
    lastSeen: engine.liveness.lastSeenAt(conn),
    alive: engine.isLive(conn),
    waiting: waiting.has(conn),
    inputBufferedBytes: conn.inputBufferedBytes,
  });
  return {
    connections: [...engine.connections.all()].map(view),
    clients: [...engine.matchmaker.seats()].map((seat) => view(seat as Connection)),
    pairs: engine.matchmaker.counts().pairs,
    deadlines: engine.liveness.size,
    waiting: waiting.size,
  };
}
