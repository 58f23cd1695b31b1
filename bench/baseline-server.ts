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

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', '0'));

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
