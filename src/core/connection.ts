/**
 * One connection's state, owned by the engine, and the handle its adapter gets.
 *
 * @module
 */
import type { PendingInput } from './authorization.js';
import type { Engine } from './engine.js';
import type { LivenessList, LivenessNode } from './liveness.js';
import { LineFramer, stripCarriageReturn, type LineSink } from './framing.js';
import type { RemotePeer, Seat } from './matchmaking/types.js';
import type { RateLimitState } from './rate-limit.js';
import type { ConnectionHandle, Transport } from './transport.js';

const LF = 0x0a;
const NEWLINE = Uint8Array.of(LF);

/** Where a connection is in its life. */
export type ConnectionState = 'open' | 'closing' | 'closed';

/** A connection's peer: another connection of this core, or a client elsewhere. */
export type Peer = Connection | RemotePeer;

/**
 * Whether `peer` is a connection of this core (a remote peer has no transport). A
 * field test, not `instanceof`: this runs for every relayed line, and V8 inlines a
 * property check where `instanceof` on an imported class costs a call.
 */
export function isLocal(peer: Peer): peer is Connection {
  return (peer as Partial<Connection>).transport !== undefined;
}

/** The engine's record of one connection. Only the engine and its parts write it. */
export class Connection implements Seat, RateLimitState, LineSink, LivenessNode {
  /** Registered uco, once `connect` succeeded. */
  uco: string | undefined = undefined;
  /** Registered session. */
  session = '';
  /** Current peer, when paired (set by the engine from the matchmaker's decisions). */
  peer: Peer | undefined = undefined;
  /** Life-cycle state. */
  state: ConnectionState = 'open';
  /** False until the adapter holds the handle: closing before that waits a microtask. */
  attached = false;
  /** Set when closing must drop the unsent output and the transport cannot discard it. */
  dropOutput = false;
  /** Senders paused because this connection's output is full. */
  blockedSenders: Set<Connection> | undefined = undefined;
  /** The connection whose full output paused this one's input. */
  pausedBy: Connection | undefined = undefined;
  /** Rate limit: tokens left (see {@link takeToken}). */
  tokens: number;
  /** Rate limit: clock time of the last token update. */
  tokensAt: number;
  /** Rate limit: lines dropped since the last `rate limited` reply. */
  dropped = 0;
  /** Rate limit: the first of those lines. */
  firstDropped: object | string | undefined = undefined;
  /** Rate limit: clock time of the last `rate limited` reply. */
  repliedAt = -Infinity;
  /** Liveness (src/core/liveness.ts): the deadline list this connection is on. */
  liveList: LivenessList = 0;
  /** Liveness: last pong (registered) or opening time (unregistered). */
  liveAt = 0;
  /** Liveness: previous connection on the same deadline list. */
  livePrev: Connection | undefined = undefined;
  /** Liveness: next connection on the same deadline list. */
  liveNext: Connection | undefined = undefined;
  /** Input held while a `connect` awaits a decision (the `authorize` hook, the matchmaker). */
  pending: PendingInput | undefined = undefined;
  /** The key of the per-address connection count, if the transport has an address. */
  readonly addressKey: string | undefined;
  /** What the adapter holds. */
  readonly handle: ConnectionHandle;
  private readonly framer: LineFramer;

  constructor(
    readonly id: number,
    readonly transport: Transport,
    private readonly engine: Engine,
    /** When the transport was attached (clock time). */
    readonly openedAt: number,
  ) {
    const { maxLineBytes, rateBurst } = engine.options;
    this.framer = new LineFramer(maxLineBytes);
    this.tokens = rateBurst;
    this.tokensAt = openedAt;
    this.addressKey = transport.remoteHost ?? transport.remoteAddress;
    this.handle = new Handle(this);
  }

  /** Bytes of input held for an unfinished line. */
  get inputBufferedBytes(): number {
    return this.framer.bufferedBytes;
  }

  /** Raw bytes from the transport (PROTOCOL §1 framing). */
  feed(chunk: Uint8Array): void {
    if (this.state === 'open') this.framer.push(chunk, this);
  }

  /**
   * A line from a message-based transport gets the same PROTOCOL §1 treatment as a
   * framed one: a trailing `"\r"` is dropped, then a line longer than `maxLineBytes`
   * is refused unparsed. A message holding `"\n"` is the lines it contains (each
   * message is terminated by `"\n"`), so a raw newline never reaches a peer.
   */
  receiveLine(line: string | Uint8Array): void {
    if (this.state !== 'open') return;
    if (typeof line === 'string' ? line.includes('\n') : line.includes(LF)) {
      this.feed(typeof line === 'string' ? Buffer.from(`${line}\n`) : Buffer.concat([line, NEWLINE]));
      return;
    }
    const max = this.engine.options.maxLineBytes;
    if (typeof line === 'string') {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      // A UTF-16 code unit takes at most 3 UTF-8 bytes: short strings need no count.
      if (text.length > max / 3 && Buffer.byteLength(text) > max) this.onLineTooLong();
      else this.engine.line(this, text);
      return;
    }
    const bytes = stripCarriageReturn(Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength));
    if (bytes.length > max) this.onLineTooLong();
    else this.engine.line(this, bytes);
  }

  /** The transport drained its output. */
  drained(): void {
    if (this.state === 'open') this.engine.drained(this);
  }

  /** PROTOCOL §5: the transport closed or failed; the client is removed at once. */
  closed(error?: Error): void {
    if (this.state !== 'closed') this.engine.close(this, error === undefined ? 'transport closed' : 'transport error', error);
  }

  /** {@link LineSink}: a complete line. The framer stops calling once the connection closes mid-chunk. */
  onLine(line: Buffer): void {
    if (this.state === 'open') this.engine.line(this, line);
  }

  /** {@link LineSink}: a line longer than `maxLineBytes`. */
  onLineTooLong(): void {
    if (this.state === 'open') this.engine.lineTooLong(this);
  }
}

/**
 * The adapter's handle: the transport's three entry points (input, drained, closed)
 * and the connection's id, nothing of its state.
 */
class Handle implements ConnectionHandle {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  get id(): number {
    return this.#conn.id;
  }

  feed(chunk: Uint8Array): void {
    this.#conn.feed(chunk);
  }

  receiveLine(line: string | Uint8Array): void {
    this.#conn.receiveLine(line);
  }

  drained(): void {
    this.#conn.drained();
  }

  closed(error?: Error): void {
    this.#conn.closed(error);
  }
}
