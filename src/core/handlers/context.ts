/**
 * What every command handler receives: the engine, the connection, and the line.
 *
 * @module
 */
import type { Connection } from '../connection.js';
import type { Engine } from '../engine.js';

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

/** A handler of one `cmd`. */
export type CommandHandler = (engine: Engine, conn: Connection, line: ReceivedLine) => void;
