/**
 * Child processes of the benchmark: servers and client workers, started through
 * `bash -c 'ulimit -n …; exec …'` (and `taskset` when pinning), so that the pid we
 * hold is the node process itself. Only those pids are ever signalled.
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Whether this benchmark runs from TypeScript source (tsx) or from a compiled copy. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** Node flags that load TypeScript source, when we run from source. */
export const SOURCE_FLAGS: readonly string[] = FROM_SOURCE ? ['--conditions=source', '--import', 'tsx'] : [];

/** The extension of our own sibling scripts (`.ts` from source, `.js` compiled). */
export const SCRIPT_EXT = FROM_SOURCE ? '.ts' : '.js';

/** Where server and generator run. */
export interface Pinning {
  /** Whether `taskset` pins processes at all. */
  readonly enabled: boolean;
  /** CPU list for servers (taskset -c), when enabled. */
  readonly serverCpus: string;
  /** CPU list for the generator and client workers, when enabled. */
  readonly generatorCpus: string;
  /** Why pinning is off, when it is. */
  readonly note: string;
  /** CPUs this benchmark may use (before pinning itself). */
  readonly cpus: number;
}

/** Decides pinning: servers on the last CPU, generators on the others. */
export function planPinning(wanted: boolean): Pinning {
  const cpus = availableParallelism();
  if (!wanted) return { enabled: false, serverCpus: '', generatorCpus: '', note: 'pinning disabled (--no-pin)', cpus };
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) {
    return { enabled: false, serverCpus: '', generatorCpus: '', note: 'taskset not available: processes not pinned', cpus };
  }
  if (cpus < 2) return { enabled: false, serverCpus: '', generatorCpus: '', note: 'only one CPU: processes not pinned', cpus };
  const last = cpus - 1;
  return {
    enabled: true,
    serverCpus: String(last),
    generatorCpus: last === 1 ? '0' : `0-${last - 1}`,
    note: `server on CPU ${last}, generator on CPU ${last === 1 ? '0' : `0-${last - 1}`}`,
    cpus,
  };
}

/** Pins the current process (all its threads) to `cpus`. */
export function pinSelf(cpus: string): boolean {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
  return r.status === 0;
}

/** Clock ticks per second, for /proc/<pid>/stat. */
export const CLK_TCK = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number.parseInt(r.stdout ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU seconds (user + system) used so far by `pid`, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * Time the process's main thread (Node's event loop) ran and waited runnable for a CPU,
 * in seconds, from `/proc/<pid>/schedstat` (Linux; zeros where it is missing).
 */
export function schedSeconds(pid: number): { ran: number; waited: number } {
  try {
    const [ran, waited] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { ran: (ran ?? 0) / 1e9, waited: (waited ?? 0) / 1e9 };
  } catch {
    return { ran: 0, waited: 0 };
  }
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
export function machineJiffies(): { busy: number; total: number } {
  const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = first.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th columns.
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/** CPU use of the whole machine between two {@link machineJiffies} readings, in % of one core. */
export function machineBusyPct(a: { busy: number; total: number }, b: { busy: number; total: number }, cpus: number): number {
  const total = b.total - a.total;
  return total <= 0 ? NaN : ((b.busy - a.busy) / total) * cpus * 100;
}

/** Resident set size of `pid` in KiB, from /proc/<pid>/status VmRSS. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m === null ? NaN : Number(m[1]);
}

/** The soft limit on open files of `pid`, from /proc/<pid>/limits. */
export function openFilesLimit(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (m === null) return NaN;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** Every child we started and have not seen exit. */
const children = new Map<number, ChildProcess>();

/** How to start one child. */
export interface SpawnSpec {
  /** The node arguments (flags, script, its arguments). */
  readonly nodeArgs: readonly string[];
  /** taskset CPU list, or '' for no pinning. */
  readonly cpus: string;
  /** Open-files limit to ask for (the hard limit is used if this one is refused). */
  readonly openFiles: number;
  /** stdin of the child: a pipe (for commands) or ignored. */
  readonly stdin: 'pipe' | 'ignore';
  /** A command that runs the rest (e.g. `nice -n 19`), after taskset and before bash. */
  readonly prefix?: readonly string[];
}

/** Starts `node …` through bash (for `ulimit`) and optionally taskset; the pid is node's (exec). */
export function startNode(spec: SpawnSpec): ChildProcess {
  const script = `ulimit -n ${spec.openFiles} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const argv = [...(spec.prefix ?? []), 'bash', '-c', script, 'bash', process.execPath, ...spec.nodeArgs];
  const [cmd, ...args] = spec.cpus === '' ? argv : ['taskset', '-c', spec.cpus, ...argv];
  const child = spawn(cmd as string, args, { cwd: ROOT, stdio: [spec.stdin, 'pipe', 'pipe'] });
  if (child.pid !== undefined) {
    const pid = child.pid;
    children.set(pid, child);
    child.once('exit', () => children.delete(pid));
  }
  return child;
}

/** Keeps the last `max` characters of a stream (stderr of a child, for error messages). */
export function tail(stream: NodeJS.ReadableStream, max = 4000): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text = (text + chunk).slice(-max);
  });
  return () => text;
}

/** Waits for a line of stdout matching `pattern`, or fails after `timeoutMs` or on exit. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, stderr: () => string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const stdout = child.stdout;
    if (stdout === null) {
      reject(new Error('child has no stdout'));
      return;
    }
    const finish = (err: Error | undefined, m?: RegExpExecArray): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
      child.off('exit', onExit);
      if (err !== undefined) reject(err);
      else resolve(m as RegExpExecArray);
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const m = pattern.exec(buffered);
      if (m !== null) finish(undefined, m);
      else buffered = buffered.slice(-4000);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`child exited (${code ?? signal}) before printing ${pattern}: ${stderr().trim().slice(-800)}`));
    const timer = setTimeout(
      () => finish(new Error(`no ${pattern} from child within ${timeoutMs} ms: ${stderr().trim().slice(-800)}`)),
      timeoutMs,
    );
    stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A server child that printed `listening on <host>:<port>`. */
export interface ServerProcess {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** The last lines of its stderr. */
  readonly stderr: () => string;
}

/** Starts a server (ours or the baseline) and waits for its `listening on` line. */
export async function startServer(nodeArgs: readonly string[], cpus: string, openFiles: number): Promise<ServerProcess> {
  const child = startNode({ nodeArgs, cpus, openFiles, stdin: 'ignore' });
  const stderr = tail(child.stderr as NodeJS.ReadableStream);
  if (child.pid === undefined) throw new Error(`could not start ${nodeArgs.join(' ')}`);
  try {
    const m = await waitForLine(child, /listening on (\S+):(\d+)/, 30_000, stderr);
    // Drain stdout from now on so that the child never blocks on a full pipe.
    child.stdout?.resume();
    return { pid: child.pid, host: m[1] as string, port: Number(m[2]), child, stderr };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. Only this child's pid. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Kills every child still running (SIGKILL, by pid): for aborts and the watchdog. */
export function killAllChildren(): void {
  for (const child of children.values()) child.kill('SIGKILL');
}

/** A promise resolved after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
