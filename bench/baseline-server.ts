/**
 * The baseline: a raw TCP relay with no parsing. Connections are paired in order of
 * arrival (1st with 2nd, 3rd with 4th, …); each is told its own and its peer's name
 * once, in the same `pair` line shape the real server uses, then its bytes are piped
 * to its peer untouched. It prints `listening on <host>:<port>` like the CLI.
 *
 * Run: node [--conditions=source --import tsx] bench/baseline-server.ts --host 127.0.0.1 --port 0
 *
 * @module
 */
import { createServer, type Socket } from 'node:net';
import { serve } from './serve.js';

let accepted = 0;
let waiting: Socket | undefined;

const server = createServer({ noDelay: true }, (socket) => {
  const index = accepted++;
  socket.on('error', () => socket.destroy());
  socket.write(`{"cmd":"pair","uco":"b${index ^ 1}","self":"b${index}"}\n`);
  if (index % 2 === 0) {
    waiting = socket;
    return;
  }
  const first = waiting;
  waiting = undefined;
  if (first === undefined || first.destroyed) {
    socket.destroy();
    return;
  }
  first.pipe(socket);
  socket.pipe(first);
});

serve(server);
