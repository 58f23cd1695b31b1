/**
 * What a command handler may use: the core's parts and a few actions. Implemented by
 * {@link RouletteCore}.
 *
 * @module
 */
import type { AuthorizeRequest } from '../authorization.js';
import type { Connection } from '../connection.js';
import type { LeaveReason } from '../events.js';
import type { LivenessTracker } from '../liveness.js';
import type { ErrorKind, ExitReason } from '../messages.js';
import type { ResolvedOptions } from '../options.js';
import type { PairingScheduler } from '../pairing.js';
import type { Registry } from '../registry.js';

/** A parsed client message: a JSON object (PROTOCOL §1). */
export type ClientMessage = Record<string, unknown>;

/** One received line: its parsed object, its text (for identity numbers) and its raw form (for the relay). */
export interface ReceivedLine {
  /** The parsed object. */
  readonly msg: ClientMessage;
  /** The line decoded as UTF-8. */
  readonly text: string;
  /** The line exactly as received, without terminator. */
  readonly raw: Buffer | string;
}

/** @internal The core as seen by command handlers. */
export interface CommandContext {
  readonly options: ResolvedOptions;
  readonly registry: Registry;
  readonly pairing: PairingScheduler;
  readonly liveness: LivenessTracker;
  /** Writes a line to `conn` (nothing once it is closing). */
  send(conn: Connection, line: string | Buffer): boolean;
  /** Answers `conn` with an error reply and reports it. */
  refuse(conn: Connection, kind: ErrorKind, reply: string): void;
  /** Sends `{"exit":true,"reason":reason}` and closes `conn`. */
  close(conn: Connection, reason: ExitReason): void;
  /** Drops `conn`'s registration and pairing, keeping the connection open. */
  unregister(conn: Connection, reason: LeaveReason): void;
  /** Registers `conn` and answers the ack. */
  register(conn: Connection, uco: string, session: string, nonce: string, takeover: boolean): void;
  /** Reports a repeated `connect` on the same connection. */
  reconnected(conn: Connection, nonce: string): void;
  /**
   * Asks the `authorize` hook about a `connect`, then completes it (now or once a
   * pending decision arrives) or closes `conn` with `unauthorized`.
   */
  authorizeConnect(conn: Connection, request: AuthorizeRequest): void;
  /** Forwards `line` to `conn`'s peer (PROTOCOL §3 comm). */
  relay(conn: Connection, peer: Connection, line: ReceivedLine): void;
}

/** A handler of one `cmd`. */
export type CommandHandler = (ctx: CommandContext, conn: Connection, line: ReceivedLine) => void;
