/**
 * The launcher as the tests run it: from source, as a child process of the test
 * (`fixtures/launcher.ts`), or in-process with {@link SOURCE_NODE_COMMAND}.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../../test/helpers/cli-process.js';

/** `chat-roulette` from source: what each node runs in the tests. */
export const SOURCE_NODE_COMMAND: readonly string[] = Object.freeze([process.execPath, '--conditions=source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts')]);

/** `chat-roulette-cluster` from source (its nodes from source too), to be followed by its flags. */
export const SOURCE_LAUNCHER_COMMAND: readonly string[] = Object.freeze([
  process.execPath,
  '--conditions=source',
  '--import',
  'tsx',
  join(ROOT, 'packages/redis/test/fixtures/launcher.ts'),
]);

/** Whether a process with this PID exists (signal 0 by PID). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The PIDs a launcher logged on stderr: its nodes' and its redis-server's. */
export function loggedPids(stderr: string): number[] {
  return [...new Set([...stderr.matchAll(/(?:Node \S+(?: starting)?|redis-server) \(pid (\d+)\)/g)].map((m) => Number(m[1])))];
}

/** The environment variable that marks the processes a test started, and every process they start. */
export const TAG_VARIABLE = 'CHAT_ROULETTE_TEST_TAG';

/**
 * The PIDs of the running processes (other than this one) whose environment holds
 * `CHAT_ROULETTE_TEST_TAG=<tag>`: whatever a test started, directly or not, inherits it.
 * Linux only (`/proc`); elsewhere, an empty list.
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
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${entry}/environ`)]);
      if (environ.includes(marker) && !isZombie(entry)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

/** A zombie has exited (its parent has not reaped it yet): it runs nothing. */
function isZombie(pid: string): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}
