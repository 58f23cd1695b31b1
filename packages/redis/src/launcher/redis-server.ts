/**
 * The launcher's own `redis-server`: on 127.0.0.1, a free port, no persistence, the
 * settings docs/scaling.md asks for; ready once it says so; stopped by its PID.
 *
 * @module
 */
import { once } from 'node:events';
import net from 'node:net';
import { Child, within } from './processes.js';

/** A redis-server started by the launcher. */
export interface OwnRedis {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its process. */
  readonly child: Child;
}

/** A free port of 127.0.0.1 at the time of the call. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** The arguments of redis-server: see docs/scaling.md, "Running 3 nodes on one machine". */
function redisArgs(port: number): string[] {
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction',
    '--client-output-buffer-limit', 'pubsub 256mb 128mb 60',
  ];
}

/**
 * Starts `binary` on `port` (a free one when not given, retried on another port twice
 * if it was taken meanwhile) and waits at most `timeoutMs` for "Ready to accept
 * connections". Its output lines go to `onLine`. Throws after stopping it if it does
 * not get ready.
 */
export async function startRedisServer(binary: string, timeoutMs: number, onLine: (line: string) => void, port?: number): Promise<OwnRedis> {
  for (let attempt = 1; ; attempt++) {
    const p = port ?? (await freePort());
    let output = '';
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const child = new Child(binary, redisArgs(p), (_stream, line) => {
      if (output.length < 4096) output += `${line}\n`;
      if (line.includes('Ready to accept connections')) ready();
      onLine(line);
    });
    const outcome = await within(Promise.race([isReady.then(() => 'ready' as const), child.exited.then(() => 'exited' as const)]), timeoutMs);
    if (outcome === 'ready') return { port: p, child };
    await child.stop(timeoutMs, 'SIGKILL');
    const spawnError = child.pid === undefined ? ` (cannot run '${binary}')` : '';
    const why = outcome === undefined ? `not ready within ${timeoutMs} ms` : `exited${spawnError}`;
    if (port !== undefined || attempt >= 3 || outcome === undefined || spawnError !== '') {
      throw new Error(`redis-server on port ${p}: ${why}${lastLine(output)}`);
    }
  }
}

function lastLine(output: string): string {
  const line = output.trimEnd().split('\n').at(-1);
  return line === undefined || line === '' ? '' : `: ${line}`;
}
