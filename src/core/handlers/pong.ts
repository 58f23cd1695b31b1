/**
 * `pong` (PROTOCOL §3): refreshes liveness of a registered connection.
 *
 * @module
 */
import type { CommandHandler } from './context.js';

/** Handles `{"cmd":"pong"}`; from an unregistered connection it is ignored. */
export const pong: CommandHandler = (engine, conn) => {
  if (conn.uco !== undefined) engine.liveness.pong(conn);
};
