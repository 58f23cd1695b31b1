/**
 * `exit` (PROTOCOL §3): unregister, unpair, close.
 *
 * @module
 */
import type { CommandHandler } from './context.js';

/** Handles `{"cmd":"exit"}`: replies `{"exit":true,"reason":"client exit"}` and closes. */
export const exit: CommandHandler = (ctx, conn) => {
  ctx.close(conn, 'client exit');
};
