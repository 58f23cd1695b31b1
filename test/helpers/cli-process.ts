/**
 * Helpers of the integration tests that run the CLI as a child process and talk to
 * it over sockets: a bounded line client, and the server process. Every wait is
 * bounded; `closeAll` kills only the processes started here, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WAIT_MS } from './bounds.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The shutdown notice (PROTOCOL §7). */
export const SHUTDOWN = '{"exit":true,"reason":"server shutdown"}';

/** Resolves when `check()` is true, polled every 10 ms; rejects after `ms`. */
export async function until(what: string, check: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A client socket whose server lines are collected. */
export class LineClient {
  readonly lines: string[] = [];
  closed = false;
  private rest = '';

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const parts = (this.rest + text).split('\n');
      this.rest = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  send(message: object): void {
    if (!this.socket.destroyed) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** Waits for a line matching `pattern`. */
  async waitLine(pattern: RegExp, ms = WAIT_MS): Promise<string> {
    await until(`a line matching ${pattern}`, () => this.lines.some((l) => pattern.test(l)), ms);
    return this.lines.find((l) => pattern.test(l)) as string;
  }
}

/** The CLI server as a child process, with its output collected. */
export class ServerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Starts `chat-roulette start --host 127.0.0.1 --port 0 ...extra` from source, with `env` added to the environment. */
  constructor(extra: readonly string[] = [], env: Readonly<Record<string, string>> = {}) {
    this.child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'src/cli/main.ts', 'start', '--host', '127.0.0.1', '--port', '0', ...extra],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    this.child.stdout?.setEncoding('utf8').on('data', (t: string) => (this.stdout += t));
    this.child.stderr?.setEncoding('utf8').on('data', (t: string) => (this.stderr += t));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve({ code, signal });
      });
    });
  }

  /** The port of the `listening on <host>:<port>` line. */
  async port(ms = WAIT_MS): Promise<number> {
    await until('listening on', () => /listening on [\d.]+:\d+\n/.test(this.stdout) || this.exitStatus !== undefined, ms);
    const match = /listening on [\d.]+:(\d+)\n/.exec(this.stdout);
    if (match === null) throw new Error(`server did not start: ${this.stderr}`);
    return Number(match[1]);
  }

  /** The exit status, bounded. */
  async exit(ms = WAIT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await until('the server to exit', () => this.exitStatus !== undefined, ms);
    return this.exitStatus as { code: number | null; signal: NodeJS.Signals | null };
  }

  /** SIGKILLs the process by its pid if it still runs. */
  kill(): void {
    if (this.exitStatus !== undefined || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
