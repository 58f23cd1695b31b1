/**
 * The launcher as the tests run it: from source, as a child process of the test
 * (`fixtures/launcher.ts`), or in-process with {@link SOURCE_NODE_COMMAND}.
 */
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

export { TAG_VARIABLE, taggedProcesses } from '../../../test/blackbox/harness.js';
