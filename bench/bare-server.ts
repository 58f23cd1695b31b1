/**
 * The idle-memory baseline: a bare Node `net` server that accepts connections and
 * holds them, reading and discarding whatever arrives. No framing, no registry, no
 * pings: what N idle sockets cost Node itself. It prints `listening on <host>:<port>`
 * like the CLI.
 *
 * Run: node [--conditions=source --import tsx] bench/bare-server.ts --host 127.0.0.1 --port 0
 *
 * @module
 */
import { createServer } from 'node:net';
import { serve } from './serve.js';

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', () => undefined);
  socket.on('error', () => socket.destroy());
});

serve(server);
