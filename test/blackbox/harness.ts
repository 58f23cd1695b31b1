/**
 * What a black-box protocol suite needs: a server started by command (anything that
 * prints `listening on HOST:PORT` on stdout and stops on SIGTERM), raw TCP clients whose
 * every wait is bounded, and a check that nothing the server started outlives it.
 * Nothing here knows what runs behind the port.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { ROOT } from '../helpers/cli-process.js';
import { WAIT_MS } from '../helpers/bounds.js';

/** The ping line (PROTOCOL §4), skipped by {@link WireClient.next}. */
export const PING = '{"cmd":"ping"}';

/** The environment variable that marks a server and every process it starts. */
export const TAG_VARIABLE = 'CHAT_ROULETTE_TEST_TAG';

/**
 * The PIDs of the running processes (this one excepted) whose environment holds
 * `CHAT_ROULETTE_TEST_TAG=<tag>`: a process started with the tag, and everything it
 * started in turn. Linux only (`/proc`); elsewhere, an empty list.
 */
export function taggedProcesses(tag: string): number[] {
  const marker = Buffer.from(`\0${TAG_VARIABLE}=${tag}\0`);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = Buffer.concat([Buffer.of(0), readFileSync(`/proc/${entry}/environ`)]);
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const zombie = stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      if (environ.includes(marker) && !zombie) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return found;
}

type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** Resolves when `check()` returns a value (re-checked when `wake` is called or every 50 ms); rejects after `ms`. */
function waitFor<T>(what: string, check: () => T | undefined, subscribe: (wake: () => void) => () => void, ms = WAIT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    let unsubscribe = (): void => undefined;
    const finish = (error: Error | undefined, value?: T): void => {
      clearTimeout(timer);
      clearInterval(poll);
      unsubscribe();
      if (error === undefined) resolve(value as T);
      else reject(error);
    };
    const recheck = (): void => {
      try {
        const value = check();
        if (value !== undefined) finish(undefined, value);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const poll = setInterval(recheck, 50);
    unsubscribe = subscribe(recheck);
    recheck();
  });
}

/** A server under test, started as `command ...flags` from the repository root. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly tag: string;
  stdout = '';
  stderr = '';
  status: ExitStatus | undefined;
  private static started = 0;

  constructor(command: readonly string[], flags: readonly string[]) {
    this.tag = `blackbox-${process.pid}-${++ServerProcess.started}`;
    const [executable, ...args] = command as [string, ...string[]];
    this.child = spawn(executable, [...args, ...flags], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [TAG_VARIABLE]: this.tag },
    });
    this.child.stdout?.setEncoding('utf8').on('data', (t: string) => (this.stdout += t));
    this.child.stderr?.setEncoding('utf8').on('data', (t: string) => (this.stderr += t));
    this.child.on('close', (code, signal) => (this.status = { code, signal }));
  }

  private watch(wake: () => void): () => void {
    this.child.stdout?.on('data', wake);
    this.child.on('close', wake);
    return () => {
      this.child.stdout?.off('data', wake);
      this.child.off('close', wake);
    };
  }

  /** The port of the `listening on HOST:PORT` line, which must be the first line of stdout. */
  port(): Promise<number> {
    return waitFor(
      'the listening line',
      () => {
        const match = /^listening on 127\.0\.0\.1:(\d+)\n/.exec(this.stdout);
        if (match !== null) return Number(match[1]);
        if (this.stdout.includes('\n')) throw new Error(`unexpected stdout: ${this.stdout}`);
        if (this.status !== undefined) throw new Error(`the server exited (${JSON.stringify(this.status)}) before listening:\n${this.stderr}`);
        return undefined;
      },
      (wake) => this.watch(wake),
    );
  }

  /** The exit status, once the process and its pipes are closed. */
  exit(): Promise<ExitStatus> {
    return waitFor('the server to exit', () => this.status, (wake) => this.watch(wake));
  }

  signal(signal: NodeJS.Signals): void {
    assert.ok(this.child.pid !== undefined && this.status === undefined, 'the server runs');
    process.kill(this.child.pid, signal);
  }

  /**
   * After a test: SIGTERM if it still runs (a server that starts others must stop them),
   * SIGKILL if it has not exited within the bound; then SIGKILL whatever it started that
   * is still there, and report those.
   */
  async stop(): Promise<number[]> {
    if (this.status === undefined && this.child.pid !== undefined) {
      process.kill(this.child.pid, 'SIGTERM');
      try {
        await this.exit();
      } catch {
        if (this.status === undefined) process.kill(this.child.pid, 'SIGKILL');
      }
    }
    const left = taggedProcesses(this.tag);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    return left;
  }
}

/** A raw TCP client of the wire protocol; it answers pings unless told not to. */
export class WireClient {
  /** Every line received, pings included. */
  readonly lines: string[] = [];
  /** Every line received as bytes. */
  readonly raw: Buffer[] = [];
  closed = false;
  /** Set to false to stop answering pings (a client that went silent). */
  pong: boolean;
  private pending = Buffer.alloc(0);
  private cursor = 0;

  private constructor(readonly socket: net.Socket, pong: boolean) {
    this.pong = pong;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  /**
   * Connects to 127.0.0.1:`port`. With `allowHalfOpen`, it keeps its side open after the
   * server's end (as the course clients do); `localAddress` binds the client to another
   * loopback address (`127.0.0.2`: Linux routes all of 127.0.0.0/8 to the loopback).
   */
  static connect(port: number, options: { pong?: boolean; allowHalfOpen?: boolean; localAddress?: string } = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const { localAddress } = options;
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false, ...(localAddress === undefined ? {} : { localAddress }) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new WireClient(socket, options.pong ?? true));
      });
    });
  }

  private onData(chunk: Buffer): void {
    let data = Buffer.concat([this.pending, chunk]);
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a)) {
      const line = Buffer.from(data.subarray(0, nl));
      this.raw.push(line);
      this.lines.push(line.toString('utf8'));
      if (this.pong && line.toString('utf8') === PING && this.socket.writable) this.socket.write('{"cmd":"pong"}\n');
      data = data.subarray(nl + 1);
    }
    this.pending = Buffer.from(data);
  }

  private watch(wake: () => void): () => void {
    this.socket.on('data', wake);
    this.socket.on('close', wake);
    return () => {
      this.socket.off('data', wake);
      this.socket.off('close', wake);
    };
  }

  /** Sends an object as one JSON line, or a string as it is (terminator included by the caller). */
  send(message: object | string): void {
    if (this.socket.writable) this.socket.write(typeof message === 'string' ? message : `${JSON.stringify(message)}\n`);
  }

  /** Writes and resolves once the bytes are handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** The next line not yet read, pings skipped; fails if the connection closes first. */
  next(): Promise<string> {
    return waitFor(
      'the next line',
      () => {
        while (this.cursor < this.lines.length) {
          const line = this.lines[this.cursor++] as string;
          if (line !== PING) return line;
        }
        if (this.closed) throw new Error(`the connection closed; lines: ${JSON.stringify(this.lines.filter((l) => l !== PING))}`);
        return undefined;
      },
      (wake) => this.watch(wake),
    );
  }

  /** Reads lines (pings skipped) until one matches `pattern`, and returns it. */
  async nextMatching(pattern: RegExp): Promise<string> {
    for (;;) {
      const line = await this.next();
      if (pattern.test(line)) return line;
    }
  }

  /** Waits until at least `count` lines (pings included) have arrived. */
  received(count: number): Promise<void> {
    return waitFor(
      `${count} lines`,
      () => {
        if (this.lines.length >= count) return true;
        if (this.closed) throw new Error(`the connection closed after ${this.lines.length} lines`);
        return undefined;
      },
      (wake) => this.watch(wake),
    ).then(() => undefined);
  }

  /** Waits until the server has ended the connection; no line other than a ping may follow the last one read. */
  async end(): Promise<void> {
    await waitFor('the server to end the connection', () => (this.closed || this.socket.readableEnded ? true : undefined), (wake) => {
      this.socket.on('end', wake);
      return this.watch(wake);
    });
    assert.deepEqual(this.lines.slice(this.cursor).filter((l) => l !== PING), [], 'no line after the last one read');
  }

  /** Sends `connect` and expects the ack. */
  async register(uco: string, nonce: number | string = 1): Promise<void> {
    this.send({ cmd: 'connect', uco, nonce });
    assert.equal(await this.next(), `{"ack":"${nonce}"}`);
  }

  /** The `pair` lines received so far (all of them, read or not). */
  pairs(): string[] {
    return this.lines.filter((l) => l.startsWith('{"cmd":"pair"'));
  }
}

/** Polls `check` (every 50 ms and on nothing else) until true; bounded. For states no event announces. */
export function eventually(what: string, check: () => boolean, ms = WAIT_MS): Promise<void> {
  return waitFor(what, () => (check() ? true : undefined), () => () => undefined, ms).then(() => undefined);
}
