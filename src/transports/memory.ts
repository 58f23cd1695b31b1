/**
 * An in-memory transport: a test double whose input is driven and whose output is
 * read synchronously. What an embedding app's tests or a student's tests use.
 *
 * @module
 */
import type { RouletteCore } from '../core/core.js';
import type { ConnectionHandle, Transport } from '../core/transport.js';

/** Options of {@link MemoryConnection}. */
export interface MemoryConnectionOptions {
  /** Reported as the transport's remote address. @defaultValue `"memory"` */
  remoteAddress?: string;
}

/** A message the server wrote, parsed. */
export type ServerMessage = Record<string, unknown>;

/** How a {@link MemoryConnection} ended. */
export type MemoryCloseKind =
  /** The server closed it (after an `exit` message). */
  | 'server'
  /** The server dropped its unsent output, then wrote the exit line and closed it (`slow consumer`). */
  | 'server-destroy'
  /** The client side ended it ({@link MemoryConnection.end} / {@link MemoryConnection.fail}). */
  | 'client';

const decoder = new TextDecoder();

/**
 * One client connection to a {@link RouletteCore}, entirely in memory. Everything is
 * synchronous: when {@link MemoryConnection.send} returns, the server's replies are
 * in {@link MemoryConnection.lines}.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const core = new RouletteCore({ clock });
 * core.start();
 * const alice = new MemoryConnection(core);
 * alice.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
 * alice.take(); // [{ ack: '1' }]
 * ```
 */
export class MemoryConnection {
  /** The core's handle for this connection. */
  readonly handle: ConnectionHandle;
  /** Every line the server wrote, in order, without terminators. */
  readonly lines: string[] = [];
  /** Reported to the core as unsent output: set it to simulate a client that does not read. */
  buffered = 0;
  /**
   * True once the server discarded this connection's unsent output (a `slow consumer`
   * cut): {@link MemoryConnection.buffered} is then reset to 0. The lines already
   * written stay in {@link MemoryConnection.lines}.
   */
  discarded = false;
  /** True while the core has paused this connection's input (its peer is not reading). */
  paused = false;
  /** How the connection ended; `undefined` while open. */
  closedBy: MemoryCloseKind | undefined = undefined;
  /** The remote address reported to the core. */
  readonly remoteAddress: string;
  private cursor = 0;

  /** The core-facing side: what the core writes lands in {@link MemoryConnection.lines}. */
  static readonly #Transport = class MemoryTransport implements Transport {
    constructor(private readonly owner: MemoryConnection) {}

    get remoteAddress(): string {
      return this.owner.remoteAddress;
    }

    send(line: string | Uint8Array): boolean {
      return this.owner.#receive(line);
    }

    close(): void {
      this.owner.#closeFromServer(this.owner.discarded ? 'server-destroy' : 'server');
    }

    discardQueued(): void {
      this.owner.buffered = 0;
      this.owner.discarded = true;
    }

    destroy(): void {
      this.owner.#closeFromServer('server-destroy');
    }

    bufferedBytes(): number {
      return this.owner.buffered;
    }

    pause(): void {
      this.owner.paused = true;
    }

    resume(): void {
      this.owner.paused = false;
    }
  };

  /** Attaches a new in-memory connection to `core`. */
  constructor(core: RouletteCore, options: MemoryConnectionOptions = {}) {
    this.remoteAddress = options.remoteAddress ?? 'memory';
    this.handle = core.connect(new MemoryConnection.#Transport(this));
  }

  /** True once either side closed the connection. */
  get isClosed(): boolean {
    return this.closedBy !== undefined;
  }

  /**
   * Sends one message as a line: an object is serialised with `JSON.stringify`, a
   * string is sent as it is (it must not contain `"\n"`; use {@link MemoryConnection.write}
   * for raw bytes).
   */
  send(message: object | string): void {
    this.handle.receiveLine(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Writes raw bytes, split into lines by the core's framing as a socket's would be. */
  write(chunk: string | Uint8Array): void {
    this.handle.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }

  /** Every server message so far, parsed. */
  get messages(): ServerMessage[] {
    return this.lines.map(parseLine);
  }

  /** The server messages written since the previous `take()`, parsed. */
  take(): ServerMessage[] {
    const fresh = this.lines.slice(this.cursor);
    this.cursor = this.lines.length;
    return fresh.map(parseLine);
  }

  /** The last server message, parsed, or `undefined` when there is none. */
  last(): ServerMessage | undefined {
    const line = this.lines[this.lines.length - 1];
    return line === undefined ? undefined : parseLine(line);
  }

  /** Ends the connection from the client side, as a closed socket would. */
  end(): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = 'client';
    this.handle.closed();
  }

  /** Fails the connection from the client side, as a socket error would. */
  fail(error: Error = new Error('simulated transport error')): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = 'client';
    this.handle.closed(error);
  }

  #receive(line: string | Uint8Array): boolean {
    if (this.closedBy !== undefined) return false;
    this.lines.push(typeof line === 'string' ? line : decoder.decode(line));
    return true;
  }

  #closeFromServer(kind: MemoryCloseKind): void {
    if (this.closedBy === undefined) this.closedBy = kind;
    this.handle.closed();
  }
}

function parseLine(line: string): ServerMessage {
  return JSON.parse(line) as ServerMessage;
}
