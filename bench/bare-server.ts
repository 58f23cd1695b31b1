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

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', '0'));

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', () => undefined);
  socket.on('error', () => socket.destroy());
});

server.listen(port, host, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  process.stdout.write(`listening on ${address.address}:${address.port}\n`);
});

const shutdown = (): void => {
  server.close();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
