/**
 * `chat-roulette start --redis URL [--cluster NAME] [--node-id ID]`: the flags, and the
 * one clear error line when `@chat-roulette/redis` is not installed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStartArgs } from '../../src/cli/args.js';
import { loadClusterNode } from '../../src/cli/cluster.js';

test('start --redis: the cluster flags, with their defaults', () => {
  const parsed = parseStartArgs(['--redis', 'redis://127.0.0.1:6379']);
  assert.equal(parsed.kind, 'run');
  assert.deepEqual(parsed.kind === 'run' ? parsed.options.cluster : undefined, { url: 'redis://127.0.0.1:6379', name: 'main', nodeId: undefined });
  const named = parseStartArgs(['--redis', 'redis://h:1', '--cluster', 'pv181', '--node-id', 'n1']);
  assert.deepEqual(named.kind === 'run' ? named.options.cluster : undefined, { url: 'redis://h:1', name: 'pv181', nodeId: 'n1' });
  assert.equal(parseStartArgs([]).kind === 'run' && parseStartArgs([]).kind, 'run');
  const plain = parseStartArgs([]);
  assert.equal(plain.kind === 'run' ? plain.options.cluster : 'x', undefined);
});

test('start --redis: bad values are usage errors', () => {
  for (const [argv, message] of [
    [['--cluster', 'x'], 'options --cluster and --node-id need --redis'],
    [['--node-id', 'x'], 'options --cluster and --node-id need --redis'],
    [['--redis', 'localhost:6379'], "invalid value for --redis: 'localhost:6379' (expected redis://HOST:PORT)"],
    [['--redis', 'redis://h:1', '--cluster', 'a b'], "invalid value for --cluster: 'a b' (expected 1 to 64 letters, digits, '.', '_' or '-')"],
  ] as const) {
    assert.deepEqual(parseStartArgs(argv), { kind: 'usage-error', message });
  }
});

test('start --redis without @chat-roulette/redis installed: one clear error line', async () => {
  const missing = Object.assign(new Error("Cannot find package '@chat-roulette/redis'"), { code: 'ERR_MODULE_NOT_FOUND' });
  const result = await loadClusterNode({ url: 'redis://h:1', name: 'main', nodeId: undefined }, () => Promise.reject(missing));
  assert.equal(result, '--redis needs the package @chat-roulette/redis: install it next to chat-roulette (npm install @chat-roulette/redis)');
});

test('start --redis: the package builds the node from the flags', async () => {
  const seen: unknown[] = [];
  const fake = { redisCluster: (options: unknown) => (seen.push(options), Object.assign(() => undefined, { ready: () => Promise.resolve(), closed: () => Promise.resolve() })) };
  const node = await loadClusterNode({ url: 'redis://h:1', name: 'pv181', nodeId: 'n2' }, () => Promise.resolve(fake));
  assert.equal(typeof node, 'function');
  assert.deepEqual(seen, [{ url: 'redis://h:1', name: 'pv181', nodeId: 'n2' }]);
});
