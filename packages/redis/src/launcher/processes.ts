/**
 * Child processes of the launcher: spawned with their output read line by line, waited
 * for with a bound, and stopped by their PID (SIGTERM, then SIGKILL after a bound).
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

let deathSignal: readonly string[] | undefined;

/**
 * `setpriv --pdeathsig TERM --` (util-linux, Linux) when it works here, else nothing:
 * a child started through it gets SIGTERM from the kernel when the launcher dies, even
 * by `kill -9`, so that no node or redis-server outlives it. `setpriv` execs the
 * command, so the child's PID is the command's. Checked once per process.
 */
function deathSignalPrefix(): readonly string[] {
  if (deathSignal === undefined) {
    const probe = spawnSync('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { stdio: 'ignore', timeout: 5_000 });
    deathSignal = probe.status === 0 ? ['setpriv', '--pdeathsig', 'TERM', '--'] : [];
  }
  return deathSignal;
}

/** Whether `command` names an executable file (a path, or a name found on PATH). */
function executable(command: string): boolean {
  const candidates = command.includes('/') ? [command] : (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** How a child process ended. */
export interface ExitStatus {
  /** Its exit code, or `null` when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or `null`. */
  readonly signal: NodeJS.Signals | null;
}

/** A child process whose stdout and stderr are split into lines. */
export class Child {
  readonly process: ChildProcess;
  /** The exit status once the process and its pipes are closed. */
  readonly exited: Promise<ExitStatus>;
  status: ExitStatus | undefined;

  /** Spawns `command args`, handing each line of stdout and stderr (without its newline) to `onLine`. */
  constructor(command: string, args: readonly string[], onLine: (stream: 'stdout' | 'stderr', line: string) => void) {
    // Its own session (`detached`): a Ctrl-C in the launcher's terminal reaches the launcher
    // only, which stops the nodes first and redis-server last (not all at once). Through
    // `setpriv --pdeathsig` where there is one: stopped by the kernel if the launcher dies.
    // (A command that cannot run is spawned as it is, so that its ENOENT is seen as such.)
    const [head, ...prefix] = [...(executable(command) ? deathSignalPrefix() : []), command];
    this.process = spawn(head as string, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of ['stdout', 'stderr'] as const) {
      let rest = '';
      const source = this.process[stream];
      source?.setEncoding('utf8');
      source?.on('data', (text: string) => {
        const parts = (rest + text).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) onLine(stream, line);
      });
      source?.on('end', () => {
        if (rest !== '') onLine(stream, rest);
        rest = '';
      });
    }
    this.exited = new Promise((resolve) => {
      // `error` (e.g. ENOENT) is followed by `close`.
      this.process.on('error', () => undefined);
      this.process.on('close', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
    });
  }

  /** Its PID (`undefined` when it could not be spawned). */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Whether it still runs (spawned, not yet exited). */
  get running(): boolean {
    return this.process.pid !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Sends `signal` by PID if it still runs; false if it did not. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running || this.process.pid === undefined) return false;
    try {
      process.kill(this.process.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops it: `signal` (SIGTERM), then SIGKILL if it has not exited after `graceMs`,
   * then waits at most `graceMs` more. Resolves with its exit status, or `undefined` if
   * even SIGKILL did not end it in time.
   */
  async stop(graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus | undefined> {
    if (this.process.pid === undefined) return this.exited;
    this.signal('SIGCONT'); // a paused process would not act on SIGTERM
    this.signal(signal);
    const first = await within(this.exited, graceMs);
    if (first !== undefined) return first;
    this.signal('SIGKILL');
    return within(this.exited, graceMs);
  }
}

/** `promise`'s value, or `undefined` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
