/**
 * A private redis-server for the tests: started on a free port of 127.0.0.1, without
 * persistence, stopped by its PID. Without `redis-server` on the PATH the Redis tests
 * are skipped with one line saying how to enable them — unless `CI` is set, where that
 * is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

/** How to enable the Redis tests. */
const HOW = 'install redis-server (e.g. `apt-get install -y redis-server`) to run them';

/**
 * `false` when redis-server can be started here; else the skip label of the Redis tests.
 * `announce`: this file prints the one line saying how to enable them (one file does,
 * so `npm test` prints it once). With `CI` set, a missing redis-server is a failure.
 */
export function skipReason(announce = false): string | false {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return false;
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`redis-server not found: the @chat-roulette/redis tests cannot run, and CI is set; ${HOW}`);
  }
  if (announce) process.stderr.write(`redis-server not found: the @chat-roulette/redis tests are skipped; ${HOW}\n`);
  return 'needs redis-server';
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** A running redis-server. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** Stops it (SIGTERM by PID) and waits for the exit. */
  stop(): Promise<void>;
  /** Pauses it (SIGSTOP) or resumes it (SIGCONT). */
  pause(paused: boolean): void;
}

/** Starts redis-server on a free port (retrying once if the port was taken meanwhile). */
export async function startRedis(port?: number): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const p = port ?? (await freePort());
    const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready) {
      child.stdout.resume();
      child.stderr.resume();
      return {
        port: p,
        url: `redis://127.0.0.1:${p}`,
        process: child,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          if (child.pid !== undefined) process.kill(child.pid, 'SIGCONT');
          child.kill('SIGTERM');
          await exited;
        },
        pause(paused) {
          if (child.pid !== undefined) process.kill(child.pid, paused ? 'SIGSTOP' : 'SIGCONT');
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 2 || port !== undefined) throw new Error(`redis-server did not start on port ${p}: ${output.slice(-500)}`);
  }
}
