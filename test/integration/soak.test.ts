/**
 * The chaos soak (bench/soak.ts), short: ~5 s with 100 clients over loopback. It must
 * print an OK summary with losses=0 and leaks=0 and exit 0. Bounded by a timeout; the
 * child is killed by its pid if it overruns.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ROOT } from '../helpers/cli-process.js';

test('soak: 5 s of chaos, no loss, no leak, exit 0', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'bench/soak.ts', '--seconds', '5', '--clients', '100'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const killer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 80_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  assert.equal(code, 0, `soak failed:\n${stdout}\n${stderr}`);
  assert.match(stdout, /^soak: OK .* losses=0 violations=0 .* leaks=0 unhandled=0 /m);
});
