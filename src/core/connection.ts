/**
 * One connection's state, shared by the registry, the pairing scheduler, the liveness
 * tracker and the relay. Adapters see it only as a {@link ConnectionHandle}.
 *
 * @module
 */
import type { PendingInput } from './authorization.js';
import { LineFramer, stripCarriageReturn } from './framing.js';
import type { RateLimitState } from './rate-limit.js';
import type { ConnectionHandle, Transport } from './transport.js';

const LF = 0x0a;
const NEWLINE = Uint8Array.of(LF);

/** Where a connection is in its life. */
export type ConnectionState = 'open' | 'closing' | 'closed';

/** The callbacks a {@link Connection} forwards its adapter's calls to (the core). */
export interface ConnectionOwner {
  /** A complete line arrived, without its terminator or trailing `"\r"`, at most `maxLineBytes` long. */
  onLine(conn: Connection, line: Buffer | string): void;
  /** A line longer than `maxLineBytes` arrived. */
  onLineTooLong(conn: Connection): void;
  /** The transport drained its output. */
  onDrained(conn: Connection): void;
  /** The transport closed or failed. */
  onTransportClosed(conn: Connection, error: Error | undefined): void;
}

/** @internal The core's record of one connection; implements the adapter's handle. */
export class Connection implements ConnectionHandle, RateLimitState {
  /** Registered uco, once `connect` succeeded. */
  uco: string | undefined = undefined;
  /** Registered session. */
  session = '';
  /** Current peer, when paired. */
  peer: Connection | undefined = undefined;
  /** The peer of the pair dissolved by the last epoch boundary (PROTOCOL §6 no repeat). */
  previousPeer: Connection | undefined = undefined;
  /** Life-cycle state. */
  state: ConnectionState = 'open';
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
  /** Input held while a `connect` awaits the `authorize` hook. */
  pending: PendingInput | undefined = undefined;
  /** The key of the per-address connection count, if the transport has an address. */
  readonly addressKey: string | undefined;
  private readonly framer: LineFramer;

  constructor(
    readonly id: number,
    readonly transport: Transport,
    private readonly owner: ConnectionOwner,
    private readonly maxLineBytes: number,
    /** When the transport was attached (clock time). */
    readonly openedAt: number,
    /** Initial tokens of the rate limit (its burst size). */
    burst: number,
  ) {
    this.framer = new LineFramer(maxLineBytes);
    this.tokens = burst;
    this.tokensAt = openedAt;
    this.addressKey = transport.remoteHost ?? transport.remoteAddress;
  }

  get isClosed(): boolean {
    return this.state !== 'open';
  }

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
    if (typeof line === 'string') {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      // A UTF-16 code unit takes at most 3 UTF-8 bytes: short strings need no count.
      if (text.length > this.maxLineBytes / 3 && Buffer.byteLength(text) > this.maxLineBytes) this.onLineTooLong();
      else this.owner.onLine(this, text);
      return;
    }
    const bytes = stripCarriageReturn(Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength));
    if (bytes.length > this.maxLineBytes) this.onLineTooLong();
    else this.owner.onLine(this, bytes);
  }

  drained(): void {
    if (this.state === 'open') this.owner.onDrained(this);
  }

  closed(error?: Error): void {
    if (this.state === 'closed') return;
    this.owner.onTransportClosed(this, error);
  }

  /** @internal {@link LineSink} */
  onLine(line: Buffer): void {
    // The framer stops calling once the connection closes mid-chunk.
    if (this.state === 'open') this.owner.onLine(this, line);
  }

  /** @internal {@link LineSink} */
  onLineTooLong(): void {
    if (this.state === 'open') this.owner.onLineTooLong(this);
  }

  /** Bytes of input held for an unfinished line. */
  get inputBufferedBytes(): number {
    return this.framer.bufferedBytes;
  }
}
