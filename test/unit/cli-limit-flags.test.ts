/**
 * The limit, strict and TLS flags of `chat-roulette start` (additions to PROTOCOL §9).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMIT_FLAGS, startUsage } from '../../src/cli/args.js';
import { DEFAULTS, resolveOptions } from '../../src/index.js';
import { options, usageError } from '../helpers/start-args.js';


test('limit flags map to their core options; absent, the core\'s DEFAULTS apply', () => {
  assert.deepEqual(
    LIMIT_FLAGS.map((f) => [f.flag, f.option]),
    [
      ['max-buffered-bytes', 'maxBufferedBytes'],
      ['rate-limit', 'rateLimit'],
      ['rate-burst', 'rateBurst'],
      ['max-connections-per-address', 'maxConnectionsPerAddress'],
    ],
  );
  const none = options([]);
  for (const { option } of LIMIT_FLAGS) assert.equal(none.core[option], undefined);
  assert.equal(resolveOptions(none.core).rateLimit, DEFAULTS.rateLimit);
  const all = options(['--max-buffered-bytes', '10', '--rate-limit', '20', '--rate-burst=30', '--max-connections-per-address', '40', '--strict']);
  assert.deepEqual(
    { ...all.core },
    { ...none.core, maxBufferedBytes: 10, rateLimit: 20, rateBurst: 30, maxConnectionsPerAddress: 40, strict: true },
  );
});

test('"off" turns a limit off where the core allows Infinity', () => {
  const parsed = options(['--rate-limit', 'off', '--max-connections-per-address', 'off', '--max-buffered-bytes', 'off']);
  assert.equal(parsed.core.rateLimit, Infinity);
  assert.equal(parsed.core.maxConnectionsPerAddress, Infinity);
  assert.equal(parsed.core.maxBufferedBytes, Infinity);
  assert.match(usageError(['--rate-burst', 'off']), /invalid value for --rate-burst: 'off'/);
});

test('bad limit values are usage errors', () => {
  for (const { flag } of LIMIT_FLAGS) {
    assert.match(usageError([`--${flag}`, '0']), new RegExp(`invalid value for --${flag}: '0' \\(.*>= 1`));
    assert.match(usageError([`--${flag}=abc`]), new RegExp(`invalid value for --${flag}`));
    assert.match(usageError([`--${flag}`]), new RegExp(`--${flag} needs a value`));
  }
  assert.match(usageError(['--strict=yes']), /--strict takes no value/);
});

test('--tls-cert and --tls-key go together', () => {
  assert.deepEqual(options(['--tls-cert', 'c.pem', '--tls-key', 'k.pem']).tls, { cert: 'c.pem', key: 'k.pem' });
  assert.equal(options([]).tls, undefined);
  assert.match(usageError(['--tls-cert', 'c.pem']), /--tls-cert and --tls-key go together/);
  assert.match(usageError(['--tls-key', 'k.pem']), /go together/);
  assert.match(usageError(['--tls-key=', '--tls-cert', 'c']), /--tls-key needs a value/);
});

test('the usage lists every new flag with its default ("off" for Infinity)', () => {
  const usage = startUsage();
  for (const { flag, option } of LIMIT_FLAGS) {
    const shown = DEFAULTS[option] === Infinity ? 'off' : String(DEFAULTS[option]);
    assert.match(usage, new RegExp(`--${flag} N .*\\(default ${shown}\\)`), flag);
  }
  for (const flag of ['--strict', '--tls-cert F', '--tls-key F']) assert.ok(usage.includes(flag), flag);
});
