/**
 * The chaos soak through a cluster (`npm run soak -- --cluster`), short: 5 s with 60
 * clients through 3 nodes behind the launcher's balancer, a node killed every 2 s and
 * Redis restarted once. It must print an OK summary (no loss outside the counted
 * categories, no node exit it did not cause, nothing left in Redis) and exit 0. Bounded:
 * the soak gets SIGTERM (it then stops everything the launcher started, by pid), and
 * SIGKILL if it lingers. Skipped without redis-server, like the other Redis tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { skipReason } from './redis-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('soak --cluster: 5 s of chaos with node kills and a Redis restart, every loss counted, exit 0', { skip: skipReason(), timeout: 150_000 }, async () => {
  const args = ['--seconds', '5', '--clients', '60', '--kill-every', '2', '--redis-restart-at', '0.5'];
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'bench/soak.ts', '--cluster', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const signal = (name: NodeJS.Signals): void => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, name);
  };
  const term = setTimeout(() => signal('SIGTERM'), 120_000);
  const kill = setTimeout(() => signal('SIGKILL'), 135_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(term);
  clearTimeout(kill);
  assert.equal(code, 0, `soak --cluster failed:\n${stdout}\n${stderr}`);
  assert.match(stdout, /^soak: OK cluster=3 .* losses=0 violations=0 .* cutWithoutReason=0 kills=[1-9]\d*\(.* nodeCrashes=0 .* redisRestarts=1 .* residue\{own=0,peer=0,free=0\} .* unhandled=0$/m);
});
