/**
 * `chat-roulette start` flags (PROTOCOL §9 and this server's additions): `off` for
 * every limit the core lets be turned off, one wording per kind of bad value,
 * contradicting flags refused, and the core refusing the same combinations.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CORE_FLAGS, LIMIT_FLAGS, SHUTDOWN_GRACE_MS, startUsage } from '../../src/cli/args.js';
import { runCli } from '../../src/cli/dispatch.js';
import { mayBeInfinite } from '../../src/core/options.js';
import { DEFAULTS, RouletteCore } from '../../src/index.js';
import { options, usageError } from '../helpers/start-args.js';


const INFINITE = Object.keys(DEFAULTS).filter((name) => mayBeInfinite(name));

test('"off" is accepted by the flag of every limit the core turns off with Infinity (--max-clients too), and by no other', () => {
  assert.deepEqual(INFINITE.sort(), ['maxBufferedBytes', 'maxClients', 'maxConnectionsPerAddress', 'rateLimit']);
  for (const { flag, option } of [...CORE_FLAGS, ...LIMIT_FLAGS]) {
    if (mayBeInfinite(option)) {
      assert.equal(options([`--${flag}`, 'off']).core[option], Infinity, flag);
      assert.match(startUsage(), new RegExp(`--${flag} N .*'off' for none`), `${flag}: the usage says so`);
    } else {
      assert.equal(usageError([`--${flag}`, 'off']), `invalid value for --${flag}: 'off' (expected an integer >= ${option === 'pairDelayMs' ? 0 : 1})`);
    }
  }
  // The server really runs with it.
  assert.equal(new RouletteCore(options(['--max-clients', 'off']).core).options.maxClients, Infinity);
});

test('README says which limits "off" turns off: exactly those', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const sentence = /`Infinity` \(`off` on the command line\) turns off ([^.]+)\./.exec(readme)?.[1];
  assert.ok(sentence !== undefined, 'README has the sentence');
  assert.deepEqual([...sentence.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort(), INFINITE.sort());
});

test('one wording per kind of bad value: below the minimum, negative, not a number', () => {
  for (const text of ['-5', '0', 'abc', '1.5', '']) {
    assert.equal(usageError([`--epoch-ms=${text}`]), `invalid value for --epoch-ms: '${text}' (expected an integer >= 1)`);
  }
  assert.equal(usageError(['--max-clients', '-1']), "invalid value for --max-clients: '-1' (expected an integer >= 0 or 'off')");
  assert.equal(usageError(['--rate-limit', '0']), "invalid value for --rate-limit: '0' (expected an integer >= 1 or 'off')");
  assert.equal(usageError(['--stats-interval', 'x']), "invalid value for --stats-interval: 'x' (expected an integer >= 0)");
  assert.equal(usageError(['--shutdown-grace-ms', '-1']), "invalid value for --shutdown-grace-ms: '-1' (expected an integer >= 0)");
});

test('PROTOCOL §5: --dead-ms not above --ping-ms is refused with one line naming both (a client answering every ping would be dropped)', () => {
  assert.equal(
    usageError(['--dead-ms', '500', '--ping-ms', '1000']),
    '--dead-ms must be greater than --ping-ms (a client that answers every ping would be dropped): got --dead-ms 500 and --ping-ms 1000',
  );
  assert.equal(
    usageError(['--dead-ms', '500']),
    '--dead-ms must be greater than --ping-ms (a client that answers every ping would be dropped): got --dead-ms 500 and --ping-ms 1000 (the default)',
  );
  assert.match(usageError(['--ping-ms', '7000']), /got --dead-ms 7000 \(the default\) and --ping-ms 7000$/);
  assert.equal(options(['--ping-ms', '10000', '--dead-ms', '30000']).core.deadAfterMs, 30_000);
});

test('PROTOCOL §5: the core refuses deadAfterMs <= pingIntervalMs (ERR_INVALID_OPTION naming both)', () => {
  assert.throws(() => new RouletteCore({ deadAfterMs: 500 }), {
    code: 'ERR_INVALID_OPTION',
    message: 'option deadAfterMs must be greater than pingIntervalMs (a client that answers every ping would be dropped), got 500 and 1000',
  });
  assert.throws(() => new RouletteCore({ pingIntervalMs: 2000, deadAfterMs: 2000 }), { code: 'ERR_INVALID_OPTION' });
  assert.equal(new RouletteCore({ pingIntervalMs: 2000, deadAfterMs: 2001 }).options.deadAfterMs, 2001);
});

test('--shutdown-grace-ms: default SHUTDOWN_GRACE_MS (at most 2 s), 0 allowed', () => {
  assert.ok(SHUTDOWN_GRACE_MS <= 2_000);
  assert.equal(options([]).shutdownGraceMs, SHUTDOWN_GRACE_MS);
  assert.equal(options(['--shutdown-grace-ms', '0']).shutdownGraceMs, 0);
  assert.match(startUsage(), new RegExp(`--shutdown-grace-ms N .*\\(default ${SHUTDOWN_GRACE_MS}\\)`));
});

test('chat-roulette --version / -v: the version of package.json on stdout, exit 0; -h: the usage', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const [argv, out] of [[['--version'], `${version}\n`], [['-v'], `${version}\n`]] as const) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
    assert.deepEqual({ code, stdout, stderr }, { code: 0, stdout: out, stderr: '' }, argv.join(' '));
  }
  let usage = '';
  assert.equal(await runCli(['-h'], { out: (t) => (usage += t), err: () => assert.fail('nothing on stderr') }), 0);
  assert.match(usage, /^Usage: chat-roulette <command>[\s\S]*--version/);
});
