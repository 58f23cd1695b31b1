/**
 * The command dispatcher (PROTOCOL §1–3): validates a parsed line, checks identity,
 * and hands it to the handler of its `cmd`.
 *
 * @module
 */
import type { Connection } from '../connection.js';
import { sanitizeUco } from '../identity.js';
import { errorWithMessage, unknownCommandMessage } from '../messages.js';
import { comm } from './comm.js';
import { connect } from './connect.js';
import type { Engine } from '../engine.js';
import type { CommandHandler, ReceivedLine } from './context.js';
import { exit } from './exit.js';
import { pong } from './pong.js';

const HANDLERS: ReadonlyMap<string, CommandHandler> = new Map([
  ['connect', connect],
  ['comm', comm],
  ['pong', pong],
  ['exit', exit],
]);

/** Dispatches one parsed message object from `conn`. */
export function dispatch(engine: Engine, conn: Connection, line: ReceivedLine): void {
  const { msg } = line;
  const cmd = msg.cmd;
  // PROTOCOL §3: no cmd field.
  if (cmd === undefined) {
    engine.refuse(conn, 'missing cmd', errorWithMessage('missing cmd', msg));
    return;
  }
  const handler = typeof cmd === 'string' ? HANDLERS.get(cmd) : undefined;
  // PROTOCOL §3: anything else → `Unknown command [<cmd>]`.
  if (handler === undefined) {
    engine.refuse(conn, 'unknown command', unknownCommandMessage(cmd));
    return;
  }
  // PROTOCOL §2: after connect, a present uco must match the registered one.
  // (The common case, the registered uco sent back as is, needs no sanitising.)
  if (handler !== connect && conn.uco !== undefined && msg.uco !== undefined && msg.uco !== conn.uco) {
    const claimed = sanitizeUco(msg.uco, line.text);
    if (claimed === undefined) {
      engine.refuse(conn, 'invalid uco', errorWithMessage('invalid uco', msg));
      return;
    }
    if (claimed !== conn.uco) {
      engine.refuse(conn, 'uco mismatch', errorWithMessage('uco mismatch', msg));
      return;
    }
  }
  handler(engine, conn, line);
}
