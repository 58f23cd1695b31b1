/**
 * `comm` (PROTOCOL §3): relay to the current peer.
 *
 * @module
 */
import { errorWithMessage } from '../messages.js';
import type { CommandHandler } from './context.js';

/** Handles `{"cmd":"comm",…}`. */
export const comm: CommandHandler = (ctx, conn, line) => {
  if (conn.uco === undefined) {
    ctx.refuse(conn, 'not registered', errorWithMessage('not registered', line.msg));
    return;
  }
  const peer = conn.peer;
  if (peer === undefined) {
    ctx.refuse(conn, 'no peer', errorWithMessage('no peer', line.msg));
    return;
  }
  ctx.relay(conn, peer, line);
};
