/**
 * The engine behind {@link RouletteCore}: connections, their input and output, and the
 * transitions of a client's life — open, register (in handlers/connect.ts), pair and
 * unpair (decided by the matchmaker), close. Not exported from the package: the
 * façade is the public API.
 *
 * @module
 */
import createDebug from 'debug';
import type { EventEmitter } from 'eventemitter3';
import { PENDING_MAX_BYTES, PendingInput, TOO_LONG_LINE, type AuthorizeHook, type QueuedLine } from './authorization.js';
import type { Clock } from './clock.js';
import { Connection, isLocal, type Peer } from './connection.js';
import { RouletteError } from './errors.js';
import type { LeaveReason, PairKind, RouletteEvents, UnpairReason } from './events.js';
import { dispatch } from './handlers/index.js';
import type { ClientMessage } from './handlers/context.js';
import { LivenessTracker } from './liveness.js';
import { localMatchmaker } from './matchmaking/local.js';
import type { Matchmaker, MatchmakerFactory, MatchmakerSink, RemotePeer, Seat } from './matchmaking/types.js';
import {
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
import type { ResolvedOptions } from './options.js';
import type { Random } from './random.js';
import { dropLine, hasToken, isExemptMessage, mayBeExempt, pendingReply, takeToken, type RateLimitReply } from './rate-limit.js';
import { Registry } from './registry.js';
import { Relay } from './relay.js';
import { emptyErrorCounts, relayedLineBucket, RELAYED_LINE_BYTES_BOUNDS, type RouletteStats } from './stats.js';
import type { Transport } from './transport.js';

const log = createDebug('chat-roulette:core');

/** PROTOCOL §1: empty lines, after trimming ASCII whitespace, are ignored. */
const BLANK = /^[\t\n\v\f\r ]*$/;

/**
 * PROTOCOL §3 pong in the form clients send it every ping interval: recognised on its
 * bytes, without decoding nor parsing (the same outcome as the ordinary path: a pong
 * takes no rate-limit token and refreshes a registered connection's liveness).
 */
const PONG_LINE = Buffer.from('{"cmd":"pong"}');

/** The exit reason of a connection cut for its own unsent output. */
const CUT_FOR_OUTPUT: ExitReason = 'slow consumer';

/** The endings a transport reports itself: nothing is sent to the client. */
const TRANSPORT_ENDINGS: ReadonlySet<LeaveReason> = new Set(['transport closed', 'transport error']);

/** What the engine is built from: the façade's resolved options and injected parts. */
export interface EngineParts {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly random: Random;
  readonly authorize: AuthorizeHook | undefined;
  readonly cluster: MatchmakerFactory | undefined;
  /** Where events go: the façade. */
  readonly events: EventEmitter<RouletteEvents>;
}

/** Each core's engine, by its façade: for the test kit's inspector (src/testing/inspect.ts). */
const engines = new WeakMap<object, Engine>();

/** The engine behind a core's façade. Nothing but the test kit's inspector reaches past the façade. */
export function engineOf(core: object): Engine {
  const engine = engines.get(core);
  if (engine === undefined) throw new RouletteError('ERR_INVALID_STATE', 'not a RouletteCore');
  return engine;
}

/** The engine: one per {@link RouletteCore}. */
export class Engine implements MatchmakerSink {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly events: EventEmitter<RouletteEvents>;
  readonly authorize: AuthorizeHook | undefined;
  readonly connections = new Registry();
  readonly liveness: LivenessTracker;
  readonly relay: Relay;
  readonly matchmaker: Matchmaker;
  started = false;
  /** The epoch number the matchmaker last announced (0 before the first boundary). */
  private epochNumber = 0;
  private nextId = 1;
  private readonly counters = {
    relayedMessages: 0,
    relayedBytes: 0,
    connectionsOpened: 0,
    errors: emptyErrorCounts(),
    relayedLineBytes: new Array<number>(RELAYED_LINE_BYTES_BOUNDS.length + 1).fill(0),
  };

  constructor(parts: EngineParts) {
    this.options = parts.options;
    this.clock = parts.clock;
    this.events = parts.events;
    this.authorize = parts.authorize;
    this.liveness = new LivenessTracker(this);
    this.relay = new Relay(this);
    const { epochMs, pairDelayMs, maxClients } = parts.options;
    this.matchmaker = (parts.cluster ?? localMatchmaker)({
      sink: this,
      clock: parts.clock,
      random: parts.random,
      options: { epochMs, pairDelayMs, maxClients },
    });
    engines.set(parts.events, this);
  }

  // ── life cycle ──────────────────────────────────────────────────────────────

  start(): void {
    this.started = true;
    this.liveness.start();
    this.matchmaker.start();
    // Connections attached before start() are timed from now.
    const now = this.clock.now();
    for (const conn of this.connections.all()) {
      if (conn.uco === undefined) this.liveness.opened(conn, now);
      else this.liveness.registered(conn);
    }
  }

  stop(): void {
    this.started = false;
    this.matchmaker.stop();
    this.liveness.stop();
    for (const conn of [...this.connections.all()]) this.close(conn, 'server shutdown');
  }

  // ── transitions ─────────────────────────────────────────────────────────────

  /** Open: a transport is attached. */
  open(transport: Transport): Connection {
    const now = this.clock.now();
    const conn = new Connection(this.nextId++, transport, this, now);
    const fromAddress = this.connections.open(conn);
    this.counters.connectionsOpened++;
    if (log.enabled) log('connection %d opened from %s', conn.id, transport.remoteAddress ?? '?');
    this.events.emit('connectionOpened', { connectionId: conn.id, remoteAddress: transport.remoteAddress });
    // maxConnectionsPerAddress: one more than allowed is told and closed at once.
    if (fromAddress > this.options.maxConnectionsPerAddress) this.close(conn, 'too many connections');
    else if (this.started) this.liveness.opened(conn, now);
    conn.attached = true;
    return conn;
  }

  /**
   * Close, from either side. A server-side reason (an {@link ExitReason}) sends
   * `{"exit":true,"reason":…}` and ends the transport; a transport ending
   * (`transport closed`, `transport error`) sends nothing (PROTOCOL §5). Either way the
   * client is unregistered, unpaired and forgotten, once.
   */
  close(conn: Connection, reason: LeaveReason, error?: Error): void {
    const byServer = !TRANSPORT_ENDINGS.has(reason);
    if (conn.state !== 'open') {
      if (!byServer) conn.state = 'closed';
      return;
    }
    const counted = byServer ? this.writeExit(conn, reason as ExitReason) : undefined;
    conn.state = byServer ? 'closing' : 'closed';
    const uco = conn.uco;
    conn.pending = undefined;
    this.unregister(conn, reason);
    this.liveness.forget(conn);
    this.connections.close(conn);
    this.relay.forget(conn);
    if (byServer) this.endTransport(conn);
    if (log.enabled) log('connection %d (%s) closed: %s', conn.id, uco ?? '-', error?.message ?? reason);
    if (counted !== undefined) this.events.emit('protocolError', { connectionId: conn.id, uco, kind: 'rate limited', dropped: counted.dropped });
    this.events.emit('connectionClosed', { connectionId: conn.id, uco, reason, error });
  }

  /**
   * PROTOCOL §7: the exit notice, which the client reads last. A connection cut for its
   * own unsent output (`slow consumer`) has that backlog discarded first; the rate
   * limit's pending count goes just before the notice. Returns that count, if any.
   */
  private writeExit(conn: Connection, reason: ExitReason): RateLimitReply | undefined {
    const transport = conn.transport;
    if (reason === CUT_FOR_OUTPUT) {
      if (transport.discardQueued !== undefined) transport.discardQueued();
      else conn.dropOutput = true;
    }
    const counted = conn.dropped > 0 ? pendingReply(conn, this.clock.now(), true) : undefined;
    if (counted !== undefined) this.write(conn, counted.line);
    this.write(conn, exitMessage(reason));
    return counted;
  }

  /** Writes a line while closing: no slow-consumer check. */
  private write(conn: Connection, line: string): void {
    if (conn.transport.send(line)) this.traced(conn, line);
  }

  /** Drops `conn`'s registration and pairing; an open connection must register again in time. */
  unregister(conn: Connection, reason: LeaveReason): void {
    const uco = conn.uco;
    if (uco === undefined) return;
    this.matchmaker.leave(conn, reason);
    conn.uco = undefined;
    if (conn.state === 'open' && this.started) this.liveness.opened(conn, this.clock.now());
    if (log.enabled) log('%s unregistered: %s', uco, reason);
    this.events.emit('unregistered', { connectionId: conn.id, uco, reason });
  }

  // ── MatchmakerSink: pair and unpair ─────────────────────────────────────────

  /** PROTOCOL §6: each side of a new pair receives `pair`. */
  paired(a: Seat, b: Seat | RemotePeer, kind: PairKind): void {
    const conn = a as Connection;
    this.link(conn, b as Peer);
    this.announce(conn, b as Peer, kind);
  }

  unpaired(a: Seat, reason: UnpairReason): void {
    const conn = a as Connection;
    const peer = conn.peer;
    if (peer === undefined) return;
    conn.peer = undefined;
    this.relay.releaseBlockedSenders(conn);
    if (isLocal(peer)) {
      peer.peer = undefined;
      this.relay.releaseBlockedSenders(peer);
    }
    if (this.events.listenerCount('unpaired') > 0) this.events.emit('unpaired', { a: conn.uco ?? '', b: peer.uco ?? '', reason });
  }

  epoch(epoch: number, clients: number, pairs: ReadonlyArray<readonly [Seat, Seat | RemotePeer]>): void {
    this.epochNumber = epoch;
    for (const [a, b] of pairs) this.link(a as Connection, b as Peer);
    log('epoch %d: %d clients, %d pairs', epoch, clients, pairs.length);
    this.events.emit('epochStarted', { epoch, clients, pairs: pairs.length });
    for (const [a, b] of pairs) {
      if ((a as Connection).peer === b) this.announce(a as Connection, b as Peer, 'epoch');
    }
  }

  kicked(seat: Seat): void {
    this.close(seat as Connection, 'new session');
  }

  evicted(seat: Seat): void {
    this.close(seat as Connection, 'unavailable');
  }

  /** PROTOCOL §5: a dead or closed client is never chosen for pairing. */
  isLive(seat: Seat): boolean {
    const conn = seat as Connection;
    return conn.state === 'open' && this.liveness.isAlive(conn);
  }

  deliver(seat: Seat, line: Uint8Array | string): boolean {
    return this.send(seat as Connection, line as Buffer | string);
  }

  private link(a: Connection, b: Peer): void {
    a.peer = b;
    if (isLocal(b)) b.peer = a;
  }

  private announce(a: Connection, b: Peer, kind: PairKind): void {
    const ucoA = a.uco as string;
    this.send(a, pairMessage(b.uco as string));
    if (isLocal(b) && a.peer === b) this.send(b, pairMessage(ucoA));
    if (a.peer !== b) return; // one side closed while being told
    if (log.enabled) log('Pairing %s <-> %s (%s)', ucoA, b.uco, kind);
    this.events.emit('paired', { a: ucoA, b: b.uco as string, kind, epoch: this.epochNumber });
  }

  // ── input ───────────────────────────────────────────────────────────────────

  /** One complete line from `conn` (PROTOCOL §1), without terminator nor `"\r"`. */
  line(conn: Connection, raw: Buffer | string): void {
    if (this.events.listenerCount('traffic') > 0) {
      this.events.emit('traffic', { connectionId: conn.id, direction: 'in', line: typeof raw === 'string' ? raw : raw.toString('utf8') });
    }
    // A connect awaits a decision: later lines wait their turn.
    if (conn.pending !== undefined) {
      this.queue(conn, conn.pending, raw);
      return;
    }
    if (typeof raw !== 'string' && raw.length === PONG_LINE.length && raw.equals(PONG_LINE)) {
      if (conn.uco !== undefined) this.liveness.pong(conn);
      return;
    }
    if (this.relayScannedComm(conn, raw)) return;
    // The connection has already dropped the "\r" and enforced maxLineBytes (PROTOCOL §1).
    const text = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (BLANK.test(text)) return;
    // rateLimit (src/core/rate-limit.ts): over it, a line that cannot be a pong or an
    // exit is dropped and counted without being parsed.
    if (this.overLimit(conn) && !mayBeExempt(text)) {
      this.dropLimited(conn, text);
      return;
    }
    const msg = this.parse(conn, text);
    if (msg === undefined) return;
    // rateLimit: this connection's pong and exit bypass it (liveness is never lost to
    // it); every other non-blank line takes a token.
    if (!isExemptMessage(msg, conn.uco, text) && this.rateLimited(conn)) {
      this.dropLimited(conn, msg);
      return;
    }
    dispatch(this, conn, { msg, text, raw });
  }

  /** PROTOCOL §1: a line longer than maxLineBytes. */
  lineTooLong(conn: Connection): void {
    if (this.events.listenerCount('traffic') > 0) this.events.emit('traffic', { connectionId: conn.id, direction: 'in', line: '', tooLong: true });
    if (conn.pending !== undefined) this.queue(conn, conn.pending, TOO_LONG_LINE);
    else this.refuse(conn, 'message too long', TOO_LONG_MESSAGE);
  }

  /** The transport drained its output: senders it paused read again. */
  drained(conn: Connection): void {
    this.relay.releaseBlockedSenders(conn);
  }

  /**
   * The relay's fast path: a comm line from a paired client whose uco, if
   * present, is its own, goes to the peer without being decoded (src/core/scan.ts).
   * Returns false when the line must take the ordinary path (it took no token then).
   */
  private relayScannedComm(conn: Connection, raw: Buffer | string): boolean {
    const peer = conn.peer;
    if (peer === undefined || typeof raw === 'string' || !this.relay.isOwnCommLine(conn, raw)) return false;
    // rateLimit: a comm takes a token; without one it is dropped and counted, unparsed.
    if (this.rateLimited(conn)) this.dropLimited(conn, raw);
    else if (!this.relay.forward(conn, peer, raw)) this.refuseFailed(conn, JSON.parse(raw.toString('utf8')) as ClientMessage);
    return true;
  }

  /**
   * PROTOCOL §1: the line as a JSON object, or `undefined` after the error reply. An
   * invalid line over the rate limit is dropped and counted instead of answered.
   */
  private parse(conn: Connection, text: string): ClientMessage | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      if (this.rateLimited(conn)) this.dropLimited(conn, text);
      else this.protocolFault(conn, 'invalid json', INVALID_JSON_MESSAGE);
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      if (this.rateLimited(conn)) this.dropLimited(conn, text);
      else this.protocolFault(conn, 'invalid message', INVALID_MESSAGE_MESSAGE);
      return undefined;
    }
    return parsed as ClientMessage;
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
    this.events.emit('protocolError', { connectionId: conn.id, uco: conn.uco, kind: 'rate limited', dropped: reply.dropped });
  }

  /** Invalid JSON or a non-object: an error reply, or in strict mode a `protocol error` exit. */
  private protocolFault(conn: Connection, kind: ErrorKind, reply: string): void {
    if (!this.options.strict) {
      this.refuse(conn, kind, reply);
      return;
    }
    this.counters.errors[kind]++;
    this.events.emit('protocolError', { connectionId: conn.id, uco: conn.uco, kind });
    this.close(conn, 'protocol error');
  }

  // ── input held while a connect awaits a decision ────────────────────────────

  /**
   * Holds `conn`'s later input until `decision` settles, then calls `then` with its
   * value (or with `onError`'s, when it rejects) and processes the held lines in order.
   * A connection that closed meanwhile, or whose hold was replaced, drops the decision
   * (`dropped` sees it).
   */
  hold<T>(conn: Connection, decision: PromiseLike<T>, onError: (error: unknown) => T, then: (value: T) => void, dropped?: (value: T) => void): void {
    const pending = new PendingInput(Math.max(PENDING_MAX_BYTES, this.options.maxLineBytes));
    conn.pending = pending;
    Promise.resolve(decision)
      .then(undefined, onError)
      .then((value) => {
        if (conn.pending !== pending || conn.state !== 'open') {
          dropped?.(value);
          return;
        }
        conn.pending = undefined;
        then(value);
        this.replay(conn, pending.lines);
      });
  }

  /** Holds a line until the pending decision; too much held is a flood. */
  private queue(conn: Connection, pending: PendingInput, line: QueuedLine): void {
    if (!pending.push(line)) {
      conn.pending = undefined;
      this.close(conn, 'flood');
    }
  }

  /** Processes the lines held during a decision, in order, until another decision is pending. */
  private replay(conn: Connection, lines: readonly QueuedLine[]): void {
    for (let i = 0; i < lines.length; i++) {
      if (conn.state !== 'open') return;
      if (conn.pending !== undefined) {
        // A held connect went pending: the rest waits again, still in front of newer input.
        conn.pending.prepend(lines.slice(i));
        return;
      }
      const line = lines[i] as QueuedLine;
      if (line === TOO_LONG_LINE) this.lineTooLong(conn);
      else this.line(conn, line);
    }
  }

  // ── output ──────────────────────────────────────────────────────────────────

  /** Writes a line to `conn`; false once it is closing or its transport refused. */
  send(conn: Connection, line: string | Buffer): boolean {
    if (conn.state !== 'open') return false;
    if (!conn.transport.send(line)) return false;
    if (this.events.listenerCount('traffic') > 0) this.traced(conn, line);
    this.checkBuffered(conn);
    return true;
  }

  /** Answers `conn` with an error reply, counts it and reports it. */
  refuse(conn: Connection, kind: ErrorKind, reply: string): void {
    this.counters.errors[kind]++;
    this.send(conn, reply);
    this.events.emit('protocolError', { connectionId: conn.id, uco: conn.uco, kind });
  }

  /** PROTOCOL §3 comm: the write to the peer failed. */
  refuseFailed(conn: Connection, msg: ClientMessage): void {
    this.refuse(conn, 'failed', errorWithMessage('failed', msg));
  }

  /** A line of `bytes` bytes went from `from` to its peer `to`: count it, report it. */
  relayed(from: Connection, to: Peer, bytes: number): void {
    this.counters.relayedMessages++;
    this.counters.relayedBytes += bytes;
    (this.counters.relayedLineBytes[relayedLineBucket(bytes)] as number)++;
    if (this.events.listenerCount('relayed') > 0) this.events.emit('relayed', { from: from.uco as string, to: to.uco as string, bytes });
  }

  /** PROTOCOL §4 ping, to every registered connection. */
  pingAll(): void {
    const now = this.clock.now();
    // No copy of the seats (N entries every round): a send may close a seat, which
    // leaves during the iteration; Matchmaker.seats() allows that.
    for (const seat of this.matchmaker.seats()) {
      const conn = seat as Connection;
      // rateLimit: a count still pending is reported once its interval has passed.
      const counted = conn.dropped > 0 ? pendingReply(conn, now, false) : undefined;
      if (counted !== undefined) this.sendCounted(conn, counted);
      this.send(conn, PING_MESSAGE);
    }
  }

  private traced(conn: Connection, line: string | Buffer): void {
    if (this.events.listenerCount('traffic') === 0) return;
    this.events.emit('traffic', { connectionId: conn.id, direction: 'out', line: typeof line === 'string' ? line : line.toString('utf8') });
  }

  /** The slow-consumer limit: too much unsent output closes the connection. */
  private checkBuffered(conn: Connection): void {
    const limit = this.options.maxBufferedBytes;
    if (limit === Infinity || conn.transport.bufferedBytes === undefined) return;
    if (conn.transport.bufferedBytes() > limit) this.close(conn, 'slow consumer');
  }

  /**
   * Ends the transport after the exit notice. A slow consumer whose transport cannot
   * discard its backlog is destroyed (its memory is what got it closed; the notice is
   * lost with it); a connection closed before its adapter holds the handle is ended on
   * the next microtask.
   */
  private endTransport(conn: Connection): void {
    const transport = conn.transport;
    if (conn.dropOutput && transport.destroy !== undefined) transport.destroy();
    else if (!conn.attached) queueMicrotask(() => transport.close());
    else transport.close();
  }

  // ── queries ─────────────────────────────────────────────────────────────────

  stats(): RouletteStats {
    const { clients, pairs, epoch } = this.matchmaker.counts();
    return {
      connections: this.connections.size,
      clients,
      pairs,
      epochs: epoch,
      relayedMessages: this.counters.relayedMessages,
      relayedBytes: this.counters.relayedBytes,
      errors: { ...this.counters.errors },
      connectionsOpened: this.counters.connectionsOpened,
      relayedLineBytes: [...this.counters.relayedLineBytes],
      ...(this.matchmaker.stats === undefined ? {} : { cluster: this.matchmaker.stats() }),
    };
  }
}
