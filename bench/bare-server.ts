/**
 * The idle-memory baseline: a bare Node `net` server that accepts connections and
 * holds them, reading and discarding whatever arrives. No framing, no registry, no
 * parsing: what N idle sockets cost Node itself. With `--ping-ms N` it also writes
 * `{"cmd":"ping"}` to every socket every N ms (one timer for all, the sockets in one
 * `Set`), so that its clients answer pings as ours do and both servers carry the same
 * traffic: the liveness traffic PROTOCOL §4 requires of any server. It prints
 * `listening on <host>:<port>` like the CLI.
 *
 * Run: node [--conditions=source --import tsx] bench/bare-server.ts --host 127.0.0.1 --port 0 [--ping-ms 1000]
 *
 * @module
 */
import { createServer, type Socket } from 'node:net';
import { flag, serve } from './serve.js';

const pingMs = Number(flag('--ping-ms', '0'));
const sockets = new Set<Socket>();
const PING = Buffer.from('{"cmd":"ping"}\n');

function discard(): void {}
function forget(this: Socket): void {
  sockets.delete(this);
}
function fail(this: Socket): void {
  this.destroy();
}

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', discard);
  socket.on('error', fail);
  if (pingMs > 0) {
    sockets.add(socket);
    socket.on('close', forget);
  }
});

if (pingMs > 0) {
  setInterval(() => {
    for (const socket of sockets) socket.write(PING);
  }, pingMs);
}

serve(server);
