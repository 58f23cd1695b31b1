/**
 * The boundary between the core and an adapter (TCP socket, WebSocket, test double).
 * An adapter gives the core a {@link Transport}; the core gives back a
 * {@link ConnectionHandle}. Bytes in go to the handle, lines out come from the transport.
 *
 * @module
 */

/**
 * What the core needs from a connection's transport. Only {@link Transport.send} and
 * {@link Transport.close} are required; the optional members enable backpressure and
 * the slow-consumer limit.
 *
 * @example A transport over a socket-like object
 * ```ts
 * const handle = core.connect({
 *   send: (line) => { socket.write(line); socket.write('\n'); return true; },
 *   close: () => socket.end(),
 * });
 * socket.on('data', (chunk) => handle.feed(chunk));
 * socket.on('close', () => handle.closed());
 * ```
 */
export interface Transport {
  /**
   * Writes one line. `line` carries no terminator: the transport appends `"\n"`.
   * Writes must keep their order. Returns `false` when the line could not be
   * accepted because the transport is already closed (the core then answers a
   * relaying sender with `{"error":"failed"}`); buffering is not failure.
   */
  send(line: string | Uint8Array): boolean;
  /**
   * Flushes what was sent, then closes. Called once, after the final `exit`
   * message. The adapter must still call {@link ConnectionHandle.closed} when the
   * transport is gone (calling it from inside `close` is fine).
   */
  close(): void;
  /**
   * Drops the output sent but not yet handed to the operating system: the backlog a
   * `slow consumer` will never read. The core calls it just before writing that
   * connection's exit line (then {@link Transport.close}), so that the client reads
   * the exit line next, as the last thing. What the OS already holds cannot be taken
   * back and is read first. Optional: when absent, a slow consumer is closed with
   * {@link Transport.destroy} (its exit line is then lost with the backlog).
   */
  discardQueued?(): void;
  /**
   * Drops unsent output and closes at once. Used instead of {@link Transport.close}
   * for a `slow consumer` when the transport has no {@link Transport.discardQueued},
   * to release its memory; `close` is used when absent.
   */
  destroy?(): void;
  /** The peer's address, for logs and events. */
  readonly remoteAddress?: string | undefined;
  /**
   * The peer's host without port (e.g. the IP of a socket), the key of the
   * `maxConnectionsPerAddress` limit. When absent, {@link Transport.remoteAddress} is used.
   */
  readonly remoteHost?: string | undefined;
  /** Bytes written but not yet handed to the operating system. */
  bufferedBytes?(): number;
  /** Stops reading input (backpressure: this connection's peer is not keeping up). */
  pause?(): void;
  /** Resumes reading input after {@link Transport.pause}. */
  resume?(): void;
}

/**
 * The core's side of one connection, returned by {@link RouletteCore.connect}: the
 * transport's three entry points (input, drained, closed) and the connection's id.
 * The adapter feeds it input and tells it when the transport drains or closes; the
 * connection's state stays in the core (read it with {@link RouletteCore.clients}).
 */
export interface ConnectionHandle {
  /** Identifier of the connection, unique within one core (as in the core's events). */
  readonly id: number;
  /**
   * Raw bytes from the transport, in any chunking: the core splits lines on `"\n"`,
   * drops a trailing `"\r"`, and enforces `maxLineBytes` (PROTOCOL §1).
   */
  feed(chunk: Uint8Array): void;
  /**
   * One complete line without its `"\n"`, for message-based transports (WebSocket)
   * that frame messages themselves. Longer than `maxLineBytes` is answered
   * `message too long`.
   */
  receiveLine(line: string | Uint8Array): void;
  /** The transport's buffered output has drained (after a `send` filled it). */
  drained(): void;
  /**
   * The transport closed or failed: the client is unregistered and unpaired at once,
   * without a message (PROTOCOL §5). Idempotent.
   */
  closed(error?: Error): void;
}
