/**
 * `exit` (PROTOCOL §3): unregister, unpair, close.
 *
 * @module
 */
import type { CommandHandler } from './context.js';

/** Handles `{"cmd":"exit"}`: replies `{"exit":true,"reason":"client exit"}` and closes. */
export const exit: CommandHandler = (engine, conn) => {
  engine.close(conn, 'client exit');
};
