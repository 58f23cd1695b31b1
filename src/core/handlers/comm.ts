/**
 * `comm` (PROTOCOL §3): relay to the current peer.
 *
 * @module
 */
import { errorWithMessage } from '../messages.js';
import type { CommandHandler } from './context.js';

/** Handles `{"cmd":"comm",…}`. */
export const comm: CommandHandler = (engine, conn, line) => {
  if (conn.uco === undefined) {
    engine.refuse(conn, 'not registered', errorWithMessage('not registered', line.msg));
    return;
  }
  const peer = conn.peer;
  if (peer === undefined) {
    engine.refuse(conn, 'no peer', errorWithMessage('no peer', line.msg));
    return;
  }
  // PROTOCOL §3 comm: the peer gets the line byte for byte.
  if (!engine.relay.forward(conn, peer, line.raw)) engine.refuseFailed(conn, line.msg);
};
