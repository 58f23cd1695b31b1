/**
 * The stream adapter: binds a {@link RouletteCore} to any Node `Duplex` — a
 * `net.Socket`, a `tls.TLSSocket`, one end of a {@link duplexPair}. The TCP server
 * and the in-process transport are thin users of {@link attachStream}.
 *
 * @module
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { RouletteCore } from '../core/core.js';
import { RouletteError } from '../core/errors.js';
import type { ConnectionHandle, Transport } from '../core/transport.js';

const log = createDebug('chat-roulette:stream');

const NEWLINE = 0x0a;

/**
 * Fairness: a stream that handed over this many bytes in one turn of the event loop
 * stops reading until the next turn. libuv reads a socket up to 32 times (64 KiB each)
 * per turn while it stays readable, so without a bound one flooding sender could take
 * 2 MiB of framing and relaying before any other socket is served.
 */
export const READ_BYTES_PER_TURN = 64 * 1024;

/** Counts turns of the event loop, lazily: bumped by one `setImmediate` per turn with input. */
let turn = 0;
let turnEnding = false;
/** Streams that yielded in this turn: resumed when it ends. */
let yielded: StreamTransport[] = [];

function endTurn(): void {
  turn++;
  turnEnding = false;
  const resumed = yielded;
  yielded = [];
  for (const transport of resumed) transport.endYield();
}

/** The current turn's number; the first call in a turn schedules its end (the check phase). */
function currentTurn(): number {
  if (!turnEnding) {
    turnEnding = true;
    setImmediate(endTurn);
  }
  return turn;
}

/** Defaults of {@link StreamOptions}. */
export const STREAM_DEFAULTS = Object.freeze({
  /** After `close()`, a stream that has not finished closing within this time is destroyed, in ms. */
  drainTimeoutMs: 5_000,
});

/** Options of {@link attachStream}. */
export interface StreamOptions {
  /**
   * When the server closes a connection it flushes the output, ends the stream and
   * waits for it to close. A stream still open after this many ms (a frozen client
   * that neither reads nor closes) is destroyed. Counted on the core's clock.
   * `Infinity` waits forever.
   * @defaultValue 5000
   */
  drainTimeoutMs?: number;
  /**
   * The peer's address for logs and events.
   * @defaultValue `"<remoteAddress>:<remotePort>"` when the stream has them (sockets), else none
   */
  remoteAddress?: string;
  /**
   * The peer's host without port, the key of the core's `maxConnectionsPerAddress`.
   * @defaultValue the stream's `remoteAddress` when it has one (sockets), else {@link StreamOptions.remoteAddress}
   */
  remoteHost?: string;
}

/** The address fields a socket has and a plain `Duplex` lacks. */
interface MaybeSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** {@link StreamOptions} after defaults are applied. */
export interface ResolvedStreamOptions {
  /** See {@link StreamOptions.drainTimeoutMs}. */
  readonly drainTimeoutMs: number;
  /** See {@link StreamOptions.remoteAddress}. */
  readonly remoteAddress?: string;
  /** See {@link StreamOptions.remoteHost}. */
  readonly remoteHost?: string;
}

/**
 * Applies {@link STREAM_DEFAULTS} to `options` and validates them; adapters that
 * attach many streams validate once, up front.
 *
 * @throws {@link RouletteError} `ERR_INVALID_OPTION` naming the invalid field.
 */
export function resolveStreamOptions(options: StreamOptions = {}): ResolvedStreamOptions {
  const { drainTimeoutMs = STREAM_DEFAULTS.drainTimeoutMs, remoteAddress, remoteHost } = options;
  if (typeof drainTimeoutMs !== 'number' || !(drainTimeoutMs === Infinity || (Number.isSafeInteger(drainTimeoutMs) && drainTimeoutMs >= 0))) {
    throw new RouletteError('ERR_INVALID_OPTION', `option drainTimeoutMs must be an integer >= 0 or Infinity, got ${String(drainTimeoutMs)}`);
  }
  if (remoteAddress !== undefined && typeof remoteAddress !== 'string') {
    throw new RouletteError('ERR_INVALID_OPTION', `option remoteAddress must be a string, got ${String(remoteAddress)}`);
  }
  if (remoteHost !== undefined && typeof remoteHost !== 'string') {
    throw new RouletteError('ERR_INVALID_OPTION', `option remoteHost must be a string, got ${String(remoteHost)}`);
  }
  return {
    drainTimeoutMs,
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
    ...(remoteHost === undefined ? {} : { remoteHost }),
  };
}

function addressOf(stream: Duplex): string | undefined {
  const { remoteAddress, remotePort } = stream as MaybeSocket;
  return remoteAddress === undefined ? undefined : `${remoteAddress}:${remotePort ?? '?'}`;
}

/** Where a stream keeps its transport, for the listeners all streams share. */
const TRANSPORT = Symbol('chat-roulette.transport');

/** A stream attached by {@link attachStream}. */
interface AttachedStream extends Duplex {
  [TRANSPORT]: StreamTransport;
}

// Listeners shared by every stream (`this` is the stream): no closure per connection,
// which matters with tens of thousands of idle clients.
function onStreamData(this: AttachedStream, chunk: Buffer): void {
  this[TRANSPORT].onData(chunk);
}
function onStreamDrain(this: AttachedStream): void {
  this[TRANSPORT].onDrain();
}
function onStreamEnd(this: AttachedStream): void {
  this[TRANSPORT].onEnd();
}
function onStreamError(this: AttachedStream, error: Error): void {
  this[TRANSPORT].onError(error);
}
function onStreamClose(this: AttachedStream): void {
  this[TRANSPORT].onClose();
}

/**
 * The last one-line batch of a string, encoded with its newline. A ping round sends the
 * same string to every connection: they all write this one buffer (streams do not
 * modify what they are given), as a bare server writing one constant would.
 */
let lastLine = '';
let lastLineBytes = Buffer.alloc(0);

function encodedLine(line: string): Buffer {
  if (line !== lastLine) {
    lastLineBytes = Buffer.from(`${line}\n`);
    lastLine = line;
  }
  return lastLineBytes;
}

/** Copies `line` and a newline into `out` at `offset`; returns the offset after them. */
function putLine(out: Buffer, offset: number, line: string | Uint8Array): number {
  if (typeof line === 'string') offset += out.write(line, offset);
  else {
    out.set(line, offset);
    offset += line.length;
  }
  out[offset] = NEWLINE;
  return offset + 1;
}

/**
 * The batch `first`, `rest` (slices of one buffer, each starting one byte after the
 * previous one ends, the last ending at `end`) as one slice of that buffer, when the
 * byte after each line is its newline: the bytes the batch would be copied into. Else
 * undefined (a line that had a `"\r"` removed, or that ends where the buffer does).
 */
function inputSlice(first: Uint8Array, rest: ReadonlyArray<string | Uint8Array> | undefined, end: number): Buffer | undefined {
  if (end >= first.buffer.byteLength) return undefined;
  const start = first.byteOffset;
  const slice = Buffer.from(first.buffer, start, end + 1 - start);
  if (slice[end - start] !== NEWLINE) return undefined;
  if (rest !== undefined) for (const line of rest) if (slice[(line as Uint8Array).byteOffset - 1 - start] !== NEWLINE) return undefined;
  return slice;
}

/** Writes a transport's batch: runs on the tick after the first line of the batch. */
function flushBatch(transport: StreamTransport): void {
  transport.flush();
}

/**
 * The core-facing side of one stream. Writes of one tick go out in one batch. A batch
 * is handed to the stream only while the stream's own buffer is below its high-water
 * mark; the rest waits in this transport's queue, which {@link StreamTransport.discardQueued}
 * can drop (Node cannot take back what a stream already holds). So a slow consumer's
 * backlog is droppable, and its exit line is the next thing it reads.
 */
class StreamTransport implements Transport {
  readonly remoteAddress: string | undefined;
  readonly remoteHost: string | undefined;
  /** The core's handle; set right after `core.connect`. */
  handle!: ConnectionHandle;
  /**
   * The first line sent during this tick; with {@link StreamTransport.batchRest}, the
   * batch written as one chunk by {@link StreamTransport.flush}. Most batches of an
   * idle client are one line (a ping): no array for them.
   */
  private batchFirst: string | Uint8Array | undefined = undefined;
  /** The lines of this tick after the first, if any. */
  private batchRest: Array<string | Uint8Array> | undefined = undefined;
  /** UTF-8 bytes of the batch, newlines included. */
  private batchBytes = 0;
  /**
   * While every line of the batch is a slice of one input buffer and each begins one
   * byte after the previous one ends: where that run ends in the buffer; else -1.
   * Such a batch is, with its newlines, one slice of the input already: written as it
   * is, without a copy (see {@link StreamTransport.flush}).
   */
  private runEnd = -1;
  /**
   * Whether a batch may be written as a slice of the input. Only for sockets: Node gives
   * each socket read a buffer of its own, never reused, so a slice written to another
   * socket cannot change under the write. A `Duplex` of unknown origin may hand over
   * buffers its writer reuses.
   */
  private readonly sliceWrites: boolean;
  /** Batches waiting for the stream to drain, oldest first; none is `undefined` (no array per idle client). */
  private queue: Buffer[] | undefined = undefined;
  /** Bytes of {@link StreamTransport.queue}. */
  private queuedBytes = 0;
  private ending = false;
  private drainTimer: TimerHandle | undefined;
  /** The core paused this stream's input (backpressure, {@link StreamTransport.pause}). */
  private pausedByCore = false;
  /** Input stopped for the rest of this turn (fairness, {@link READ_BYTES_PER_TURN}). */
  private yielding = false;
  /** The turn {@link StreamTransport.turnBytes} counts. */
  private readTurn = -1;
  /** Bytes read during {@link StreamTransport.readTurn}. */
  private turnBytes = 0;

  constructor(
    readonly stream: Duplex,
    private readonly clock: Clock,
    private readonly drainTimeoutMs: number,
    remoteAddress: string | undefined,
    remoteHost: string | undefined,
  ) {
    this.remoteAddress = remoteAddress;
    this.remoteHost = remoteHost ?? (stream as MaybeSocket).remoteAddress;
    this.sliceWrites = stream instanceof Socket;
  }

  /** Starts listening to the stream; called once the handle exists. */
  bind(): void {
    const stream = this.stream as AttachedStream;
    stream[TRANSPORT] = this;
    stream.on('data', onStreamData);
    stream.on('drain', onStreamDrain);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    if (stream.destroyed) this.onClose();
  }

  /** Input: to the core, then a pause until the next turn once this turn's share is used up. */
  onData(chunk: Buffer): void {
    const now = currentTurn();
    if (this.readTurn !== now) {
      this.readTurn = now;
      this.turnBytes = 0;
    }
    this.turnBytes += chunk.length;
    this.handle.feed(chunk);
    if (this.turnBytes >= READ_BYTES_PER_TURN && !this.yielding && !this.ending) {
      this.yielding = true;
      yielded.push(this);
      this.stream.pause();
    }
  }

  /** The turn in which this stream yielded is over: read again, unless the core paused it. */
  endYield(): void {
    this.yielding = false;
    if (!this.pausedByCore && !this.ending && !this.stream.destroyed) this.stream.resume();
  }

  // ── Transport ───────────────────────────────────────────────────────────────

  send(line: string | Uint8Array): boolean {
    if (this.ending || !this.stream.writable) return false;
    // One write per connection per tick, however many lines: a stream write costs
    // far more than a copy of a short line.
    if (this.batchFirst === undefined) {
      process.nextTick(flushBatch, this);
      this.batchFirst = line;
      this.runEnd = this.sliceWrites && typeof line !== 'string' ? line.byteOffset + line.length : -1;
    } else {
      (this.batchRest ??= []).push(line);
      if (this.runEnd >= 0) {
        const first = this.batchFirst as Uint8Array;
        this.runEnd = typeof line !== 'string' && line.buffer === first.buffer && line.byteOffset === this.runEnd + 1 ? line.byteOffset + line.length : -1;
      }
    }
    this.batchBytes += (typeof line === 'string' ? Buffer.byteLength(line) : line.length) + 1;
    return true;
  }

  /** Moves the lines batched in this tick, in order, as one chunk to the stream (or the queue). */
  flush(): void {
    const first = this.batchFirst;
    if (first === undefined) return;
    const rest = this.batchRest;
    const bytes = this.batchBytes;
    this.batchFirst = undefined;
    this.batchRest = undefined;
    this.batchBytes = 0;
    if (!this.stream.writable) return;
    let out: Buffer | undefined;
    if (rest === undefined && typeof first === 'string') out = encodedLine(first);
    else if (this.runEnd >= 0 && this.queue === undefined && !this.stream.writableNeedDrain) out = inputSlice(first as Uint8Array, rest, this.runEnd);
    this.runEnd = -1;
    if (out === undefined) {
      // A copy also frees the input chunks that relayed lines are slices of.
      out = Buffer.allocUnsafe(bytes);
      let offset = putLine(out, 0, first);
      if (rest !== undefined) for (const line of rest) offset = putLine(out, offset, line);
    }
    if (this.queue !== undefined || this.stream.writableNeedDrain) {
      (this.queue ??= []).push(out);
      this.queuedBytes += out.length;
      return;
    }
    // A write the OS takes at once returns true and emits no 'drain': tell the core
    // now, or a sender paused on this batch's size would never be resumed.
    if (this.stream.write(out)) this.handle.drained();
  }

  /** The stream drained: hand it queued batches up to its high-water mark; end it once all are out. */
  onDrain(): void {
    const stream = this.stream;
    for (let queue = this.queue; queue !== undefined; queue = this.queue) {
      if (!stream.writable) return;
      const out = queue.shift() as Buffer;
      if (queue.length === 0) this.queue = undefined;
      this.queuedBytes -= out.length;
      if (!stream.write(out)) return;
    }
    if (this.ending) {
      if (!stream.writableEnded && !stream.destroyed) stream.end();
    } else this.handle.drained();
  }

  close(): void {
    if (this.ending) return;
    this.ending = true;
    const stream = this.stream;
    if (stream.destroyed) return;
    // Keep reading (input is ignored now) so the peer's end is seen and the stream closes.
    stream.resume();
    this.flush();
    // Ended once the queue is out (on 'drain'); the drain timeout bounds the wait either way.
    if (this.queue === undefined && !stream.writableEnded) stream.end();
    if (this.drainTimeoutMs !== Infinity && this.drainTimer === undefined) {
      this.drainTimer = this.clock.setTimeout(this.onDrainTimeout.bind(this), this.drainTimeoutMs);
    }
  }

  discardQueued(): void {
    this.batchFirst = undefined;
    this.batchRest = undefined;
    this.batchBytes = 0;
    this.runEnd = -1;
    this.queue = undefined;
    this.queuedBytes = 0;
  }

  destroy(): void {
    this.ending = true;
    this.discardQueued();
    this.stream.destroy();
  }

  bufferedBytes(): number {
    return this.stream.writableLength + this.queuedBytes + this.batchBytes;
  }

  pause(): void {
    this.pausedByCore = true;
    this.stream.pause();
  }

  resume(): void {
    this.pausedByCore = false;
    if (!this.yielding) this.stream.resume();
  }

  // ── stream events ───────────────────────────────────────────────────────────

  /** The peer half-closed: PROTOCOL §5, the client is removed at once; we end our side too. */
  onEnd(): void {
    this.handle.closed();
    this.close();
  }

  /** PROTOCOL §5: a transport that errors is removed at once. */
  onError(error: Error): void {
    log('stream %d (%s) error: %s', this.handle.id, this.remoteAddress ?? '-', error.message);
    this.handle.closed(error);
    this.stream.destroy();
  }

  onClose(): void {
    this.ending = true;
    this.discardQueued();
    if (this.drainTimer !== undefined) {
      this.clock.clearTimeout(this.drainTimer);
      this.drainTimer = undefined;
    }
    this.handle.closed();
  }

  private onDrainTimeout(): void {
    this.drainTimer = undefined;
    if (this.stream.destroyed) return;
    log('stream %d (%s) did not close within %d ms: destroyed', this.handle.id, this.remoteAddress ?? '-', this.drainTimeoutMs);
    this.stream.destroy();
  }
}

/**
 * Attaches a `Duplex` stream to `core` as one connection and returns the core's
 * handle for it. Input bytes are fed to the core as they arrive (the core frames
 * lines and bounds them, PROTOCOL §1); output lines are written with `"\n"`,
 * batched per tick. Read-side backpressure follows the core's `pause`/`resume`.
 *
 * The stream's `'error'` is always handled: an error, an `'end'` (half-close) or a
 * `'close'` removes the client at once (PROTOCOL §5). When the core closes the
 * connection, the stream is flushed and ended, then destroyed if it has not closed
 * within `drainTimeoutMs`.
 *
 * @param core - the core to attach to.
 * @param stream - any duplex byte stream; do not call `setEncoding` on it.
 * @param options - see {@link StreamOptions}.
 * @returns the core's {@link ConnectionHandle} for this stream.
 * @throws {@link RouletteError} `ERR_INVALID_OPTION` for an invalid option.
 *
 * @example A server on a Unix socket
 * ```ts
 * import net from 'node:net';
 * import { RouletteCore, attachStream } from 'chat-roulette';
 *
 * const core = new RouletteCore();
 * core.start();
 * net.createServer((socket) => attachStream(core, socket)).listen('/tmp/roulette.sock');
 * ```
 */
export function attachStream(core: RouletteCore, stream: Duplex, options: StreamOptions = {}): ConnectionHandle {
  const { drainTimeoutMs, remoteAddress, remoteHost } = resolveStreamOptions(options);
  const transport = new StreamTransport(stream, core.clock, drainTimeoutMs, remoteAddress ?? addressOf(stream), remoteHost);
  transport.handle = core.connect(transport);
  transport.bind();
  return transport.handle;
}
