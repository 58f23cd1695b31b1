/**
 * {@link RouletteCore}: the public face of the server without its transport.
 *
 * @module
 */
import createDebug from 'debug';
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock } from './clock.js';
import type { Connection } from './connection.js';
import { Engine } from './engine.js';
import { RouletteError } from './errors.js';
import type { RouletteEvents } from './events.js';
import type { ExitReason } from './messages.js';
import { resolveOptions, type ResolvedOptions, type RouletteOptions } from './options.js';
import type { RouletteStats } from './stats.js';
import type { ConnectionHandle, Transport } from './transport.js';

const log = createDebug('chat-roulette:core');

/** A read-only view of one registered client, from {@link RouletteCore.clients}. */
export interface ClientInfo {
  /** The registered uco. */
  readonly uco: string;
  /** The registered session. */
  readonly session: string;
  /** The connection's id. */
  readonly connectionId: number;
  /** The current peer's uco, if paired. */
  readonly peer: string | undefined;
  /** Clock time of the last `pong` (or of registration). */
  readonly lastSeen: number;
  /** The transport's remote address. */
  readonly remoteAddress: string | undefined;
  /** Clock time at which the connection was opened. */
  readonly connectedAt: number;
}

/**
 * The chat-roulette server without its transport. Adapters attach connections with
 * {@link RouletteCore.connect}; the core registers clients, pairs them, pings them,
 * relays their `comm` lines and closes the dead, exactly as the wire protocol
 * (`docs/spec/PROTOCOL.md`) says.
 *
 * Nothing a client sends throws out of the core: every refusal is a reply.
 *
 * ## Events
 *
 * The core is an eventemitter3 `EventEmitter` typed by {@link RouletteEvents}: listen
 * with `on(name, listener)`, `once`, and stop with `off` (or `removeListener`,
 * `removeAllListeners`); `listenerCount(name)` and `eventNames()` as usual. Each
 * listener gets one payload object:
 *
 * | event | payload | when |
 * | --- | --- | --- |
 * | `connectionOpened` | {@link ConnectionOpenedEvent} | a transport was attached |
 * | `connectionClosed` | {@link ConnectionClosedEvent} | a connection closed, by the server or its transport |
 * | `registered` | {@link RegisteredEvent} | a connection registered a uco with `connect` |
 * | `unregistered` | {@link UnregisteredEvent} | a uco left the registry |
 * | `paired` | {@link PairedEvent} | two clients were paired and sent `pair` |
 * | `unpaired` | {@link UnpairedEvent} | a pair ended (no message is sent) |
 * | `relayed` | {@link RelayedEvent} | a `comm` line was forwarded (only while listened to) |
 * | `protocolError` | {@link ProtocolErrorEvent} | a client's message was refused with an error reply |
 * | `traffic` | {@link TrafficEvent} | a line went in or out (only while listened to) |
 * | `epochStarted` | {@link EpochStartedEvent} | a pairing epoch began |
 *
 * @example
 * ```ts
 * import { RouletteCore, listen } from 'chat-roulette';
 *
 * const core = new RouletteCore({ epochMs: 60_000 });
 * core.on('paired', ({ a, b }) => console.log(`${a} <-> ${b}`));
 * core.start();
 * const server = await listen(core, { port: 44333 });
 * ```
 */
export class RouletteCore extends EventEmitter<RouletteEvents> {
  /** The resolved options: what was given, {@link DEFAULTS} for the rest. */
  readonly options: ResolvedOptions;
  /** The clock this core runs on. */
  readonly clock: Clock;
  readonly #engine: Engine;

  /**
   * @param options - see {@link RouletteOptions}; defaults in {@link DEFAULTS}.
   * @throws {@link RouletteError} `ERR_INVALID_OPTION` for an invalid option.
   */
  constructor(options: RouletteOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.clock = options.clock ?? systemClock;
    this.#engine = new Engine({
      options: this.options,
      clock: this.clock,
      random: options.random ?? Math.random,
      authorize: options.authorize,
      cluster: options.cluster,
      events: this,
    });
  }

  // ── life cycle ──────────────────────────────────────────────────────────────

  /** Whether {@link RouletteCore.start} was called and {@link RouletteCore.stop} not since. */
  get running(): boolean {
    return this.#engine.started;
  }

  /**
   * Starts the timers: epochs, pairing of free clients, pings and deadlines.
   * Connections may be attached before or after.
   *
   * @throws {@link RouletteError} `ERR_INVALID_STATE` when already running.
   */
  start(): void {
    if (this.#engine.started) throw new RouletteError('ERR_INVALID_STATE', 'RouletteCore is already running');
    this.#engine.start();
    log('started %o', this.options);
  }

  /**
   * PROTOCOL §7: sends `{"exit":true,"reason":"server shutdown"}` to every connection,
   * closes them (the transports flush first) and releases every timer. The core can
   * be started again. Calling it when stopped only closes remaining connections.
   */
  stop(): void {
    this.#engine.stop();
    log('stopped');
  }

  // ── adapters ────────────────────────────────────────────────────────────────

  /**
   * Attaches a transport. The returned handle takes the transport's input and close
   * signal; the core writes through {@link Transport.send} and ends with
   * {@link Transport.close}.
   */
  connect(transport: Transport): ConnectionHandle {
    return this.#engine.open(transport).handle;
  }

  /**
   * Closes one connection from the server side: sends `{"exit":true,"reason":reason}`,
   * unregisters and unpairs it, then asks its transport to close. A handle that is
   * already closed is ignored. Adapters use it to shut down their own connections
   * without stopping the core.
   */
  disconnect(handle: ConnectionHandle, reason: ExitReason = 'server shutdown'): void {
    const conn = this.#engine.connections.get(handle.id);
    if (conn !== undefined && conn.handle === handle) this.#engine.close(conn, reason);
  }

  /**
   * Closes the connection of a registered client, by uco, as
   * {@link RouletteCore.disconnect} does (for operators, who hold no handle).
   *
   * @returns whether a client with that uco was registered.
   */
  disconnectClient(uco: string, reason: ExitReason = 'server shutdown'): boolean {
    const seat = this.#engine.matchmaker.lookup(uco);
    if (seat === undefined) return false;
    this.#engine.close(seat as Connection, reason);
    return true;
  }

  // ── queries ─────────────────────────────────────────────────────────────────

  /** A snapshot of counters and sizes. */
  stats(): RouletteStats {
    return this.#engine.stats();
  }

  /** The registered clients, in registration order. */
  clients(): ClientInfo[] {
    return [...this.#engine.matchmaker.seats()].map((seat) => this.#describe(seat as Connection));
  }

  /** One registered client, by uco. */
  client(uco: string): ClientInfo | undefined {
    const seat = this.#engine.matchmaker.lookup(uco);
    return seat === undefined ? undefined : this.#describe(seat as Connection);
  }

  /** The current epoch number (0 before the first boundary). */
  get epoch(): number {
    return this.#engine.matchmaker.counts().epoch;
  }

  /**
   * Clock time of the next scheduled epoch boundary, or `undefined` while stopped (or
   * when the matchmaker does not schedule epochs itself). {@link RouletteCore.nextEpoch}
   * does not move it.
   */
  get nextEpochAt(): number | undefined {
    return this.#engine.matchmaker.counts().nextEpochAt;
  }

  /**
   * Starts a new epoch now (PROTOCOL §6), as the epoch timer does. Useful in tests
   * and for operators; the regular epoch timer keeps its schedule.
   */
  nextEpoch(): void {
    this.#engine.matchmaker.nextEpoch();
  }

  /** Pairs the free clients now instead of waiting for `pairDelayMs`. */
  pairFreeClients(): void {
    this.#engine.matchmaker.pairFree();
  }

  /**
   * Pairs two registered clients now, whatever chance would choose: each leaves its
   * current pair (those peers become free and are paired as usual), then both get
   * `{"cmd":"pair"}` (`ucoA` first). Nothing happens if they are already paired
   * together. For tests and operators; the next epoch pairs at random again.
   *
   * @throws {@link RouletteError} `ERR_UNKNOWN_CLIENT` when a uco is not registered or
   *   its client is dead (PROTOCOL §5); `ERR_INVALID_ARGUMENT` when both ucos are the same.
   */
  pair(ucoA: string, ucoB: string): void {
    if (ucoA === ucoB) throw new RouletteError('ERR_INVALID_ARGUMENT', `pair(): cannot pair '${ucoA}' with itself`);
    const engine = this.#engine;
    const [a, b] = [ucoA, ucoB].map((uco) => {
      const seat = engine.matchmaker.lookup(uco);
      if (seat === undefined) throw new RouletteError('ERR_UNKNOWN_CLIENT', `pair(): '${uco}' is not registered`);
      if (!engine.isLive(seat)) throw new RouletteError('ERR_UNKNOWN_CLIENT', `pair(): '${uco}' is dead (no pong within deadAfterMs)`);
      return seat;
    }) as [Connection, Connection];
    engine.matchmaker.pair(a, b);
  }

  #describe(conn: Connection): ClientInfo {
    return {
      uco: conn.uco as string,
      session: conn.session,
      connectionId: conn.id,
      peer: conn.peer?.uco,
      lastSeen: this.#engine.liveness.lastSeenAt(conn) ?? conn.openedAt,
      remoteAddress: conn.transport.remoteAddress,
      connectedAt: conn.openedAt,
    };
  }
}
