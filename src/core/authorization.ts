/**
 * The `authorize` hook (a {@link RouletteOptions} policy hook) and the input queue of
 * a connection whose `connect` awaits the hook's decision: later lines wait, in order,
 * and are processed once the decision is in.
 *
 * @module
 */

/** What the `authorize` hook is asked about one `connect`. */
export interface AuthorizeRequest {
  /** The sanitised uco the connection asks to register (PROTOCOL §2). */
  readonly uco: string;
  /** The sanitised session. */
  readonly session: string;
  /** The sanitised nonce. */
  readonly nonce: string;
  /** The transport's remote address, when it has one. */
  readonly remoteAddress: string | undefined;
}

/**
 * Decides whether a `connect` is accepted: `true` accepts; `false`, a throw or a
 * rejection refuses (`{"exit":true,"reason":"unauthorized"}`, then close).
 *
 * @example Only ucos from a class list, with a per-student session token
 * ```ts
 * const core = new RouletteCore({
 *   authorize: ({ uco, session }) => tokens.get(uco) === session,
 * });
 * ```
 */
export type AuthorizeHook = (request: AuthorizeRequest) => boolean | Promise<boolean>;

/** A queued line that was too long (its `message too long` reply waits its turn). */
export const TOO_LONG_LINE: unique symbol = Symbol('line too long');

/** One queued input: a line as received, or the mark of a too-long line. */
export type QueuedLine = Buffer | string | typeof TOO_LONG_LINE;

/** Most lines queued behind a pending decision; one more closes the connection (`flood`). */
export const PENDING_MAX_LINES = 100;

/** Most bytes queued behind a pending decision (at least one line of `maxLineBytes` always fits). */
export const PENDING_MAX_BYTES = 64 * 1024;

/** A connection's input held while its `connect` awaits a decision (the hook, the matchmaker). */
export class PendingInput {
  /** Queued lines, oldest first. */
  lines: QueuedLine[] = [];
  /** Bytes of the queued lines. */
  bytes = 0;

  /** @param maxBytes - the byte bound of this queue. */
  constructor(private readonly maxBytes: number) {}

  /** Queues a line (copied: it may be a slice of a reused chunk). Returns false when over the bound. */
  push(line: QueuedLine): boolean {
    const size = line === TOO_LONG_LINE ? 0 : typeof line === 'string' ? Buffer.byteLength(line) : line.length;
    this.lines.push(typeof line === 'string' || line === TOO_LONG_LINE ? line : Buffer.from(line));
    this.bytes += size;
    return this.lines.length <= PENDING_MAX_LINES && this.bytes <= this.maxBytes;
  }

  /** Puts `lines` back in front of the queue (a queued `connect` went pending again). */
  prepend(lines: readonly QueuedLine[]): void {
    this.lines = [...lines, ...this.lines];
    this.bytes = 0;
    for (const line of this.lines) {
      if (line !== TOO_LONG_LINE) this.bytes += typeof line === 'string' ? Buffer.byteLength(line) : line.length;
    }
  }
}
