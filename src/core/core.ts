/**
 * {@link RouletteCore}: the registry, the pairing scheduler, the liveness tracker and
 * the relay behind one transport-agnostic class.
 *
 * @module
 */
import createDebug from 'debug';
import { EventEmitter } from 'eventemitter3';
import { PENDING_MAX_BYTES, PendingInput, TOO_LONG_LINE, type AuthorizeHook, type AuthorizeRequest } from './authorization.js';
import { systemClock, type Clock } from './clock.js';
import { Connection, type ConnectionOwner } from './connection.js';
import { RouletteError } from './errors.js';
import type { LeaveReason, PairKind, RouletteEvents, UnpairReason } from './events.js';
import { completeConnect } from './handlers/connect.js';
import { dispatch } from './handlers/index.js';
import type { ClientMessage, CommandContext, ReceivedLine } from './handlers/context.js';
import { LivenessTracker, type LivenessHost } from './liveness.js';
import {
  ackMessage,
  errorWithMessage,
  exitMessage,
  INVALID_JSON_MESSAGE,
  INVALID_MESSAGE_MESSAGE,
  pairMessage,
  PING_MESSAGE,
  TOO_LONG_MESSAGE,
  type ErrorKind,
  type ExitReason,
} from './messages.js';
import { resolveOptions, type ResolvedOptions, type RouletteOptions } from './options.js';
import { PairingScheduler, type PairingHost } from './pairing.js';
import type { Random } from './random.js';
import { dropLine, hasToken, isExemptMessage, mayBeExempt, pendingReply, takeToken, type RateLimitReply } from './rate-limit.js';
import { Registry } from './registry.js';
import { Relay, type RelayHost } from './relay.js';
import { emptyErrorCounts, type RouletteStats } from './stats.js';
import type { ConnectionHandle, Transport } from './transport.js';

const log = createDebug('chat-roulette:core');

/** PROTOCOL §1: empty lines, after trimming ASCII whitespace, are ignored. */
const BLANK = /^[\t\n\v\f\r ]*$/;

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
}

/**
 * The chat-roulette server without its transport. Adapters attach connections with
 * {@link RouletteCore.connect}; the core registers clients, pairs them, pings them,
 * relays their `comm` lines and closes the dead, exactly as PROTOCOL.md says.
 *
 * Nothing a client sends throws out of the core: every refusal is a reply.
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
export class RouletteCore
  extends EventEmitter<RouletteEvents>
  implements CommandContext, ConnectionOwner, PairingHost, LivenessHost, RelayHost
{
  /** The resolved options: what was given, {@link DEFAULTS} for the rest. */
  readonly options: ResolvedOptions;
  /** @internal */
  readonly registry = new Registry();
  /** @internal */
  readonly pairing: PairingScheduler;
  /** @internal */
  readonly liveness: LivenessTracker;
  /** @internal */
  readonly relayer = new Relay(this);
  /** The clock this core runs on. */
  readonly clock: Clock;
  private nextId = 1;
  private started = false;
  private readonly authorizeHook: AuthorizeHook | undefined;
  private readonly counters = {
    relayedMessages: 0,
    relayedBytes: 0,
    connectionsOpened: 0,
    errors: emptyErrorCounts(),
  };

  /**
   * @param options - see {@link RouletteOptions}; defaults in {@link DEFAULTS}.
   * @throws {@link RouletteError} `ERR_INVALID_OPTION` for an invalid option.
   */
  constructor(options: RouletteOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.clock = options.clock ?? systemClock;
    this.authorizeHook = options.authorize;
    const random: Random = options.random ?? Math.random;
    this.pairing = new PairingScheduler(this, this.clock, random, this.options);
    this.liveness = new LivenessTracker(this, this.clock, this.options);
  }

  // ── life cycle ──────────────────────────────────────────────────────────────

  /** Whether {@link RouletteCore.start} was called and {@link RouletteCore.stop} not since. */
  get running(): boolean {
    return this.started;
  }

  /**
   * Starts the timers: epochs, pairing of free clients, pings and deadlines.
   * Connections may be attached before or after.
   *
   * @throws {@link RouletteError} `ERR_INVALID_STATE` when already running.
   */
  start(): void {
    if (this.started) throw new RouletteError('ERR_INVALID_STATE', 'RouletteCore is already running');
    this.started = true;
    this.liveness.start();
    this.pairing.start();
    // Connections attached before start() are timed from now.
    for (const conn of this.registry.connections.values()) {
      if (conn.uco === undefined) this.liveness.opened(conn, this.clock.now());
      else this.liveness.registered(conn);
    }
    log('started %o', this.options);
  }

  /**
   * PROTOCOL §7: sends `{"exit":true,"reason":"server shutdown"}` to every connection,
   * closes them (the transports flush first) and releases every timer. The core can
   * be started again. Calling it when stopped only closes remaining connections.
   */
  stop(): void {
    this.started = false;
    this.pairing.stop();
    this.liveness.stop();
    for (const conn of [...this.registry.connections.values()]) this.close(conn, 'server shutdown');
    log('stopped');
  }

  // ── adapters ────────────────────────────────────────────────────────────────

  /**
   * Attaches a transport. The returned handle takes the transport's input and close
   * signal; the core writes through {@link Transport.send} and ends with
   * {@link Transport.close}.
   */
  connect(transport: Transport): ConnectionHandle {
    const now = this.clock.now();
    const conn = new Connection(this.nextId++, transport, this, this.options.maxLineBytes, now, this.options.rateBurst);
    const fromAddress = this.registry.open(conn);
    this.counters.connectionsOpened++;
    if (log.enabled) log('connection %d opened from %s', conn.id, transport.remoteAddress ?? '?');
    this.emit('connectionOpened', { connectionId: conn.id, remoteAddress: transport.remoteAddress });
    // maxConnectionsPerAddress: one more than allowed is told and closed at once.
    // The transport is closed on the next microtask: its adapter has no handle yet.
    if (fromAddress > this.options.maxConnectionsPerAddress) this.close(conn, 'too many connections', true);
    else if (this.started) this.liveness.opened(conn, now);
    return conn;
  }

  /**
   * Closes one connection from the server side: sends `{"exit":true,"reason":reason}`,
   * unregisters and unpairs it, then asks its transport to close. A handle that is
   * already closed is ignored. Adapters use it to shut down their own connections
   * without stopping the core.
   */
  disconnect(handle: ConnectionHandle, reason: ExitReason = 'server shutdown'): void {
    const conn = this.registry.connections.get(handle.id);
    if (conn !== undefined && conn === handle) this.close(conn, reason);
  }

  // ── queries ─────────────────────────────────────────────────────────────────

  /** A snapshot of counters and sizes. */
  stats(): RouletteStats {
    return {
      connections: this.registry.connections.size,
      clients: this.registry.size,
      pairs: this.pairing.pairCount,
      epochs: this.pairing.epoch,
      relayedMessages: this.counters.relayedMessages,
      relayedBytes: this.counters.relayedBytes,
      errors: { ...this.counters.errors },
      connectionsOpened: this.counters.connectionsOpened,
    };
  }

  /** The registered clients, in registration order. */
  clients(): ClientInfo[] {
    return [...this.registry.clients.values()].map((conn) => this.describe(conn));
  }

  /** One registered client, by uco. */
  client(uco: string): ClientInfo | undefined {
    const conn = this.registry.lookup(uco);
    return conn === undefined ? undefined : this.describe(conn);
  }

  /** The current epoch number (0 before the first boundary). */
  get epoch(): number {
    return this.pairing.epoch;
  }

  /**
   * Starts a new epoch now (PROTOCOL §6), as the epoch timer does. Useful in tests
   * and for operators; the regular epoch timer keeps its schedule.
   */
  nextEpoch(): void {
    this.pairing.runEpoch();
  }

  /** Pairs the free clients now instead of waiting for `pairDelayMs`. */
  pairFreeClients(): void {
    this.pairing.pairFree();
  }

  /**
   * Pairs two registered clients now, whatever chance would choose: each leaves its
   * current pair (those peers become free and are paired as usual), then both get
   * `{"cmd":"pair"}` (`ucoA` first). Nothing happens if they are already paired
   * together. For tests and operators; the next epoch pairs at random again.
   *
   * @throws {@link RouletteError} `ERR_UNKNOWN_CLIENT` when a uco is not registered or
   *   its client is dead (PROTOCOL §5), or both ucos are the same.
   */
  pair(ucoA: string, ucoB: string): void {
    const a = this.registry.lookup(ucoA);
    const b = this.registry.lookup(ucoB);
    for (const [uco, conn] of [[ucoA, a], [ucoB, b]] as const) {
      if (conn === undefined) throw new RouletteError('ERR_UNKNOWN_CLIENT', `pair(): '${uco}' is not registered`);
      if (!this.isLive(conn)) throw new RouletteError('ERR_UNKNOWN_CLIENT', `pair(): '${uco}' is dead (no pong within deadAfterMs)`);
    }
    if (a === b) throw new RouletteError('ERR_UNKNOWN_CLIENT', `pair(): cannot pair '${ucoA}' with itself`);
    this.pairing.pairChosen(a as Connection, b as Connection);
  }

  // ── ConnectionOwner: input from adapters ─────────────────────────────────────

  /** @internal */
  onLine(conn: Connection, raw: Buffer | string): void {
    if (this.listenerCount('traffic') > 0) {
      this.emit('traffic', { connectionId: conn.id, direction: 'in', line: typeof raw === 'string' ? raw : raw.toString('utf8') });
    }
    // A connect awaits the authorize hook: later lines wait their turn.
    if (conn.pending !== undefined) {
      this.queue(conn, conn.pending, raw);
      return;
    }
    // The relay's fast path: a short comm line from a paired client whose uco, if
    // present, is its own, goes to the peer without being decoded (src/core/scan.ts).
    const peer = conn.peer;
    if (peer !== undefined && typeof raw !== 'string' && this.relayer.isOwnCommLine(conn, raw)) {
      // rateLimit: a comm takes a token; without one it is dropped and counted, unparsed.
      if (this.rateLimited(conn)) this.dropLimited(conn, raw);
      else if (!this.relayer.forward(conn, peer, raw)) this.refuseFailed(conn, JSON.parse(raw.toString('utf8')) as ClientMessage);
      return;
    }
    // The connection has already dropped the "\r" and enforced maxLineBytes (PROTOCOL §1).
    const text = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (BLANK.test(text)) return;
    // rateLimit (src/core/rate-limit.ts): over it, a line that cannot be a pong or an
    // exit is dropped and counted without being parsed.
    if (this.overLimit(conn) && !mayBeExempt(text)) {
      this.dropLimited(conn, text);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      if (this.rateLimited(conn)) this.dropLimited(conn, text);
      else this.protocolFault(conn, 'invalid json', INVALID_JSON_MESSAGE);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      if (this.rateLimited(conn)) this.dropLimited(conn, text);
      else this.protocolFault(conn, 'invalid message', INVALID_MESSAGE_MESSAGE);
      return;
    }
    // rateLimit: this connection's pong and exit bypass it (liveness is never lost to
    // it); every other non-blank line takes a token.
    if (!isExemptMessage(parsed as ClientMessage, conn.uco, text) && this.rateLimited(conn)) {
      this.dropLimited(conn, parsed);
      return;
    }
    dispatch(this, conn, { msg: parsed as ClientMessage, text, raw });
  }

  /** @internal PROTOCOL §1: a line longer than maxLineBytes. */
  onLineTooLong(conn: Connection): void {
    if (this.listenerCount('traffic') > 0) this.emit('traffic', { connectionId: conn.id, direction: 'in', line: '', tooLong: true });
    if (conn.pending !== undefined) this.queue(conn, conn.pending, TOO_LONG_LINE);
    else this.refuse(conn, 'message too long', TOO_LONG_MESSAGE);
  }

  private traced(conn: Connection, line: string | Buffer): void {
    this.emit('traffic', { connectionId: conn.id, direction: 'out', line: typeof line === 'string' ? line : line.toString('utf8') });
  }

  /** rateLimit: takes a token; true when none was left. `Infinity` skips the clock read. */
  private rateLimited(conn: Connection): boolean {
    const rate = this.options.rateLimit;
    return rate !== Infinity && !takeToken(conn, this.clock.now(), rate, this.options.rateBurst);
  }

  /** rateLimit: true when no token is left, taking none. */
  private overLimit(conn: Connection): boolean {
    const rate = this.options.rateLimit;
    return rate !== Infinity && !hasToken(conn, this.clock.now(), rate, this.options.rateBurst);
  }

  /** rateLimit: drops a line over the limit; counted now or in a later reply (at most one per interval). */
  private dropLimited(conn: Connection, line: object | Buffer | string): void {
    this.counters.errors['rate limited']++;
    const reply = dropLine(conn, this.clock.now(), line);
    if (reply !== undefined) this.sendCounted(conn, reply);
  }

  /** rateLimit: sends a `rate limited` reply and reports it (one event per reply). */
  private sendCounted(conn: Connection, reply: RateLimitReply): void {
    this.send(conn, reply.line);
    this.emit('protocolError', { connectionId: conn.id, uco: conn.uco, kind: 'rate limited', dropped: reply.dropped });
  }

  /** @internal {@link RelayHost}: counts and reports a relayed line. */
  onRelayed(from: Connection, to: Connection, bytes: number): void {
    this.counters.relayedMessages++;
    this.counters.relayedBytes += bytes;
    if (this.listenerCount('relayed') > 0) this.emit('relayed', { from: from.uco as string, to: to.uco as string, bytes });
  }

  /** PROTOCOL §3 comm: the write to the peer failed. */
  private refuseFailed(conn: Connection, msg: ClientMessage): void {
    this.refuse(conn, 'failed', errorWithMessage('failed', msg));
  }

  /** @internal */
  onDrained(conn: Connection): void {
    this.relayer.releaseBlockedSenders(conn);
  }

  /** @internal PROTOCOL §5: a transport that closes or errors is removed at once. */
  onTransportClosed(conn: Connection, error: Error | undefined): void {
    const wasOpen = conn.state === 'open';
    conn.state = 'closed';
    if (!wasOpen) return;
    const reason: LeaveReason = error === undefined ? 'transport closed' : 'transport error';
    const uco = conn.uco;
    this.remove(conn, reason);
    if (log.enabled) log('connection %d (%s) closed: %s', conn.id, uco ?? '-', error?.message ?? reason);
    this.emit('connectionClosed', { connectionId: conn.id, uco, reason, error });
  }

  // ── CommandContext: actions of handlers ──────────────────────────────────────

  /** @internal */
  send(conn: Connection, line: string | Buffer): boolean {
    if (conn.state !== 'open') return false;
    const ok = conn.transport.send(line);
    if (ok && this.listenerCount('traffic') > 0) this.traced(conn, line);
    if (ok) this.checkBuffered(conn);
    return ok;
  }

  /** @internal */
  refuse(conn: Connection, kind: ErrorKind, reply: string): void {
    this.counters.errors[kind]++;
    this.send(conn, reply);
    this.emit('protocolError', { connectionId: conn.id, uco: conn.uco, kind });
  }

  /**
   * @internal Sends the exit notice, then closes; nothing is written after it (PROTOCOL §7).
   * The client reads it last: a slow consumer's unsent backlog is discarded first, and
   * the rate limit's pending count is written just before it.
   */
  close(conn: Connection, reason: ExitReason, deferTransportClose = false): void {
    if (conn.state !== 'open') return;
    const transport = conn.transport;
    const discard = reason === 'slow consumer' && transport.discardQueued !== undefined;
    if (discard) transport.discardQueued?.();
    const counted = conn.dropped > 0 ? pendingReply(conn, this.clock.now(), true) : undefined;
    if (counted !== undefined) this.write(conn, counted.line);
    this.write(conn, exitMessage(reason));
    conn.state = 'closing';
    const uco = conn.uco;
    this.remove(conn, reason);
    if (reason === 'slow consumer' && !discard && transport.destroy !== undefined) transport.destroy();
    else if (deferTransportClose) queueMicrotask(() => transport.close());
    else transport.close();
    if (log.enabled) log('connection %d (%s) closed: %s', conn.id, uco ?? '-', reason);
    if (counted !== undefined) this.emit('protocolError', { connectionId: conn.id, uco, kind: 'rate limited', dropped: counted.dropped });
    this.emit('connectionClosed', { connectionId: conn.id, uco, reason, error: undefined });
  }

  /** Writes a line without the slow-consumer check (the connection is being closed). */
  private write(conn: Connection, line: string): void {
    if (conn.transport.send(line) && this.listenerCount('traffic') > 0) this.traced(conn, line);
  }

  /** @internal */
  unregister(conn: Connection, reason: LeaveReason): void {
    const uco = conn.uco;
    if (uco === undefined) return;
    this.pairing.leave(conn, reason);
    this.registry.unregister(conn);
    this.liveness.forget(conn);
    if (conn.state === 'open' && this.started) this.liveness.opened(conn, this.clock.now());
    if (log.enabled) log('%s unregistered: %s', uco, reason);
    this.emit('unregistered', { connectionId: conn.id, uco, reason });
  }

  /** @internal */
  register(conn: Connection, uco: string, session: string, nonce: string, takeover: boolean): void {
    this.registry.register(conn, uco, session);
    if (this.started) this.liveness.registered(conn);
    this.send(conn, ackMessage(nonce));
    if (log.enabled) log('%s registered on connection %d%s', uco, conn.id, takeover ? ' (takeover)' : '');
    this.emit('registered', { connectionId: conn.id, uco, session, nonce, takeover, repeated: false });
    if (conn.state === 'open') this.pairing.join(conn);
  }

  /** @internal */
  reconnected(conn: Connection, nonce: string): void {
    const uco = conn.uco as string;
    this.emit('registered', { connectionId: conn.id, uco, session: conn.session, nonce, takeover: false, repeated: true });
  }

  /** @internal The `authorize` hook, then {@link completeConnect} or `unauthorized`. */
  authorizeConnect(conn: Connection, request: AuthorizeRequest): void {
    const hook = this.authorizeHook;
    if (hook === undefined) {
      completeConnect(this, conn, request);
      return;
    }
    let verdict: unknown;
    try {
      verdict = hook({ ...request });
    } catch (error) {
      log('authorize threw for %s on connection %d: %s', request.uco, conn.id, errorText(error));
      verdict = false;
    }
    if (!isThenable(verdict)) {
      this.decided(conn, request, verdict === true);
      return;
    }
    const pending = new PendingInput(Math.max(PENDING_MAX_BYTES, this.options.maxLineBytes));
    conn.pending = pending;
    Promise.resolve(verdict)
      .then(
        (value) => value === true,
        (error: unknown) => {
          log('authorize rejected %s on connection %d: %s', request.uco, conn.id, errorText(error));
          return false;
        },
      )
      .then((allowed) => {
        // A connection that closed (or was replaced) meanwhile drops its decision.
        if (conn.pending !== pending || conn.state !== 'open') return;
        conn.pending = undefined;
        this.decided(conn, request, allowed);
        this.replay(conn, pending.lines);
      });
  }

  /** @internal PROTOCOL §3 comm: the peer gets the line byte for byte. */
  relay(conn: Connection, peer: Connection, line: ReceivedLine): void {
    if (!this.relayer.forward(conn, peer, line.raw)) this.refuseFailed(conn, line.msg);
  }

  // ── PairingHost ──────────────────────────────────────────────────────────────

  /** @internal */
  registeredConnections(): Iterable<Connection> {
    return this.registry.clients.values();
  }

  /** @internal PROTOCOL §5: a dead or closed client is never chosen for pairing. */
  isLive(conn: Connection): boolean {
    return conn.state === 'open' && this.liveness.isAlive(conn);
  }

  /** @internal PROTOCOL §6: each side of a new pair receives `pair`. */
  onPaired(a: Connection, b: Connection, kind: PairKind): void {
    const ucoA = a.uco as string;
    const ucoB = b.uco as string;
    this.send(a, pairMessage(ucoB));
    if (a.peer === b) this.send(b, pairMessage(ucoA));
    if (a.peer !== b) return; // one side closed while being told
    if (log.enabled) log('Pairing %s <-> %s (%s)', ucoA, ucoB, kind);
    this.emit('paired', { a: ucoA, b: ucoB, kind, epoch: this.pairing.epoch });
  }

  /** @internal */
  onUnpaired(a: Connection, b: Connection, reason: UnpairReason): void {
    this.relayer.releaseBlockedSenders(a);
    this.relayer.releaseBlockedSenders(b);
    if (this.listenerCount('unpaired') > 0) {
      this.emit('unpaired', { a: a.uco ?? '', b: b.uco ?? '', reason });
    }
  }

  /** @internal */
  onEpoch(epoch: number, clients: number, pairs: number): void {
    log('epoch %d: %d clients, %d pairs', epoch, clients, pairs);
    this.emit('epochStarted', { epoch, clients, pairs });
  }

  // ── LivenessHost ─────────────────────────────────────────────────────────────

  /** @internal PROTOCOL §4 ping. */
  pingAll(): void {
    const now = this.clock.now();
    for (const conn of [...this.registry.clients.values()]) {
      // rateLimit: a count still pending is reported once its interval has passed.
      const counted = conn.dropped > 0 ? pendingReply(conn, now, false) : undefined;
      if (counted !== undefined) this.sendCounted(conn, counted);
      this.send(conn, PING_MESSAGE);
    }
  }

  /** @internal PROTOCOL §5 timeout. */
  onDead(conn: Connection): void {
    this.close(conn, 'timeout');
  }

  /** @internal PROTOCOL §5 register timeout. */
  onRegisterTimeout(conn: Connection): void {
    this.close(conn, 'register timeout');
  }

  // ── internals ────────────────────────────────────────────────────────────────

  /** Applies the hook's verdict on a `connect`. */
  private decided(conn: Connection, request: AuthorizeRequest, allowed: boolean): void {
    if (allowed) {
      completeConnect(this, conn, request);
      return;
    }
    if (log.enabled) log('connect of %s on connection %d refused by authorize', request.uco, conn.id);
    this.close(conn, 'unauthorized');
  }

  /** Holds a line until the pending decision; too much held is a flood. */
  private queue(conn: Connection, pending: PendingInput, line: Buffer | string | typeof TOO_LONG_LINE): void {
    if (!pending.push(line)) {
      conn.pending = undefined;
      this.close(conn, 'flood');
    }
  }

  /** Processes the lines held during a decision, in order, until another decision is pending. */
  private replay(conn: Connection, lines: readonly (Buffer | string | typeof TOO_LONG_LINE)[]): void {
    for (let i = 0; i < lines.length; i++) {
      if (conn.state !== 'open') return;
      if (conn.pending !== undefined) {
        // A held connect went pending: the rest waits again, still in front of newer input.
        conn.pending.prepend(lines.slice(i));
        return;
      }
      const line = lines[i] as Buffer | string | typeof TOO_LONG_LINE;
      if (line === TOO_LONG_LINE) this.onLineTooLong(conn);
      else this.onLine(conn, line);
    }
  }

  /** Invalid JSON or a non-object: an error reply, or in strict mode a `protocol error` exit. */
  private protocolFault(conn: Connection, kind: ErrorKind, reply: string): void {
    if (this.options.strict) {
      this.counters.errors[kind]++;
      this.emit('protocolError', { connectionId: conn.id, uco: conn.uco, kind });
      this.close(conn, 'protocol error');
    } else {
      this.refuse(conn, kind, reply);
    }
  }

  /** Removes every trace of `conn`: registration, pairing, deadlines, paused senders. */
  private remove(conn: Connection, reason: LeaveReason): void {
    conn.pending = undefined;
    this.unregister(conn, reason);
    this.liveness.forget(conn);
    this.registry.close(conn);
    this.relayer.forget(conn);
  }

  /** The slow-consumer limit: too much unsent output closes the connection. */
  private checkBuffered(conn: Connection): void {
    const limit = this.options.maxBufferedBytes;
    if (limit === Infinity || conn.transport.bufferedBytes === undefined) return;
    if (conn.transport.bufferedBytes() > limit) this.close(conn, 'slow consumer');
  }

  private describe(conn: Connection): ClientInfo {
    return {
      uco: conn.uco as string,
      session: conn.session,
      connectionId: conn.id,
      peer: conn.peer?.uco,
      lastSeen: this.liveness.lastSeenAt(conn) ?? conn.openedAt,
      remoteAddress: conn.transport.remoteAddress,
    };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
