/**
 * `connect` (PROTOCOL §3), the register transition whole: sanitise the identity, ask
 * the `authorize` hook, claim the uco from the matchmaker (a takeover closes the older
 * connection with `new session`), acknowledge. Either decision may arrive later: the
 * connection's input is held meanwhile, in order (bounded: `flood`).
 *
 * @module
 */
import createDebug from 'debug';
import type { AuthorizeRequest } from '../authorization.js';
import type { Connection } from '../connection.js';
import type { Engine } from '../engine.js';
import { sanitizeField, sanitizeUco } from '../identity.js';
import type { RegisterVerdict } from '../matchmaking/types.js';
import { ackMessage, errorWithMessage } from '../messages.js';
import type { CommandHandler } from './context.js';

const log = createDebug('chat-roulette:core');

/** The verdict of a matchmaker that failed to answer: registration fails closed. */
const UNAVAILABLE: RegisterVerdict = { ok: false, reason: 'unavailable' };

/** Handles `{"cmd":"connect","uco":…,"session":…,"nonce":…}`. */
export const connect: CommandHandler = (engine, conn, line) => {
  const { msg, text } = line;
  // PROTOCOL §2 uco: string or number, sanitised, non-empty.
  const uco = sanitizeUco(msg.uco, text);
  if (uco === undefined) {
    engine.refuse(conn, 'invalid uco', errorWithMessage('invalid uco', msg));
    return;
  }
  const session = sanitizeField(msg.session, 'session', text);
  const nonce = sanitizeField(msg.nonce, 'nonce', text);
  authorize(engine, conn, { uco, session, nonce, remoteAddress: conn.transport.remoteAddress });
};

/** The `authorize` hook decides first (maybe later); {@link register} runs on the state of that moment. */
function authorize(engine: Engine, conn: Connection, request: AuthorizeRequest): void {
  const hook = engine.authorize;
  if (hook === undefined) {
    register(engine, conn, request);
    return;
  }
  let verdict: unknown;
  try {
    verdict = hook({ ...request });
  } catch (error) {
    log('authorize threw for %s on connection %d: %s', request.uco, conn.id, errorText(error));
    verdict = false;
  }
  const decided = (allowed: unknown): void => {
    if (allowed === true) register(engine, conn, request);
    else refuseUnauthorized(engine, conn, request);
  };
  if (!isThenable(verdict)) {
    decided(verdict);
    return;
  }
  engine.hold(conn, verdict, (error) => {
    log('authorize rejected %s on connection %d: %s', request.uco, conn.id, errorText(error));
    return false;
  }, decided);
}

function refuseUnauthorized(engine: Engine, conn: Connection, request: AuthorizeRequest): void {
  if (log.enabled) log('connect of %s on connection %d refused by authorize', request.uco, conn.id);
  engine.close(conn, 'unauthorized');
}

/**
 * Register: PROTOCOL §3 connect on an authorised request. Again on the same connection
 * with the same uco is idempotent; with another uco the connection first leaves its
 * old registration; then the matchmaker decides (takeover or `server full`).
 */
function register(engine: Engine, conn: Connection, request: AuthorizeRequest): void {
  const { uco, session, nonce } = request;
  // PROTOCOL §3 connect: again on the same connection with the same uco is idempotent.
  if (conn.uco === uco) {
    conn.session = session;
    engine.send(conn, ackMessage(nonce));
    engine.events.emit('registered', { connectionId: conn.id, uco, session, nonce, takeover: false, repeated: true });
    return;
  }
  // PROTOCOL §3 connect: a different uco on the same connection re-registers.
  if (conn.uco !== undefined) engine.unregister(conn, 'reregistered');
  let verdict: RegisterVerdict | Promise<RegisterVerdict>;
  try {
    verdict = engine.matchmaker.register(conn, uco, session);
  } catch (error) {
    log('matchmaker failed to register %s on connection %d: %s', uco, conn.id, errorText(error));
    verdict = UNAVAILABLE;
  }
  if (!isThenable(verdict)) {
    registered(engine, conn, request, verdict);
    return;
  }
  engine.hold(
    conn,
    verdict,
    (error) => {
      log('matchmaker failed to register %s on connection %d: %s', uco, conn.id, errorText(error));
      return UNAVAILABLE;
    },
    (value) => registered(engine, conn, request, value),
    (value) => {
      // The connection closed while the matchmaker decided: give the uco back.
      if (!value.ok) return;
      conn.uco = uco;
      engine.matchmaker.leave(conn, 'transport closed');
      conn.uco = undefined;
    },
  );
}

/** Applies the matchmaker's verdict: the ack, or the refusal's exit. */
function registered(engine: Engine, conn: Connection, request: AuthorizeRequest, verdict: RegisterVerdict): void {
  if (!verdict.ok) {
    // A refused connection is not registered: the matchmaker does not know it.
    engine.close(conn, verdict.reason);
    return;
  }
  const { uco, session, nonce } = request;
  conn.uco = uco;
  conn.session = session;
  if (engine.started) engine.liveness.registered(conn);
  engine.send(conn, ackMessage(nonce));
  if (log.enabled) log('%s registered on connection %d%s', uco, conn.id, verdict.takeover ? ' (takeover)' : '');
  engine.events.emit('registered', { connectionId: conn.id, uco, session, nonce, takeover: verdict.takeover, repeated: false });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
