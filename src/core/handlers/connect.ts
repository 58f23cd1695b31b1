/**
 * `connect` (PROTOCOL §3): register, take over, re-register, or refuse — after the
 * `authorize` hook, when there is one.
 *
 * @module
 */
import type { AuthorizeRequest } from '../authorization.js';
import type { Connection } from '../connection.js';
import { sanitizeField, sanitizeUco } from '../identity.js';
import { ackMessage, errorWithMessage } from '../messages.js';
import type { CommandContext, CommandHandler } from './context.js';

/** Handles `{"cmd":"connect","uco":…,"session":…,"nonce":…}`. */
export const connect: CommandHandler = (ctx, conn, line) => {
  const { msg, text } = line;
  // PROTOCOL §2 uco: string or number, sanitised, non-empty.
  const uco = sanitizeUco(msg.uco, text);
  if (uco === undefined) {
    ctx.refuse(conn, 'invalid uco', errorWithMessage('invalid uco', msg));
    return;
  }
  const session = sanitizeField(msg.session, 'session', text);
  const nonce = sanitizeField(msg.nonce, 'nonce', text);
  // The hook decides first (maybe later); then completeConnect runs on the state of that moment.
  ctx.authorizeConnect(conn, { uco, session, nonce, remoteAddress: conn.transport.remoteAddress });
};

/** A `connect` the `authorize` hook accepted (or any `connect`, without a hook). */
export function completeConnect(ctx: CommandContext, conn: Connection, request: AuthorizeRequest): void {
  const { uco, session, nonce } = request;
  // PROTOCOL §3 connect: again on the same connection with the same uco is idempotent.
  if (conn.uco === uco) {
    conn.session = session;
    ctx.send(conn, ackMessage(nonce));
    ctx.reconnected(conn, nonce);
    return;
  }

  const holder = ctx.registry.lookup(uco);
  // PROTOCOL §3 connect: registry full. A takeover or a re-registration adds no client.
  if (holder === undefined && conn.uco === undefined && ctx.registry.size >= ctx.options.maxClients) {
    ctx.close(conn, 'server full');
    return;
  }
  // PROTOCOL §3 connect: a different uco on the same connection re-registers.
  if (conn.uco !== undefined) ctx.unregister(conn, 'reregistered');
  // PROTOCOL §3 connect: takeover — the older connection gets `new session`.
  if (holder !== undefined) ctx.close(holder, 'new session');
  ctx.register(conn, uco, session, nonce, holder !== undefined);
}
