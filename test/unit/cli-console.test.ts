/** The CLI's console pieces: the --http address. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHttpAddress, parseStartArgs } from '../../src/cli/args.js';

test('--http: HOST:PORT, [IPv6]:PORT, or PORT alone on 127.0.0.1', () => {
  assert.deepEqual(parseHttpAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHttpAddress('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(parseHttpAddress('localhost:80'), { host: 'localhost', port: 80 });
  assert.deepEqual(parseHttpAddress('[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseHttpAddress('8080'), { host: '127.0.0.1', port: 8080 });
  for (const bad of ['', ':8080', 'host:', 'host:65536', 'host:http', '::1:8080', 'a:b:1', '127.0.0.1:8080/']) {
    assert.equal(parseHttpAddress(bad), undefined, bad);
  }
});

test('start flags: --http, --http-token, --http-public, --reference-peer, --round-log', () => {
  const run = (argv: string[]) => {
    const parsed = parseStartArgs(argv);
    assert.equal(parsed.kind, 'run', JSON.stringify(parsed));
    return parsed.kind === 'run' ? parsed.options : undefined;
  };
  const none = run([]);
  assert.equal(none?.console, undefined, 'off unless given');
  assert.equal(none?.referencePeer, undefined);
  assert.deepEqual(run(['--http', '8080'])?.console, { host: '127.0.0.1', port: 8080, token: undefined, publicAccess: false });
  assert.deepEqual(run(['--http', '0.0.0.0:80', '--http-token', 't', '--http-public'])?.console, {
    host: '0.0.0.0',
    port: 80,
    token: 't',
    publicAccess: true,
  });
  assert.deepEqual(run(['--reference-peer', '100000', '--round-log', 'r.ndjson'])?.referencePeer, { uco: '100000', roundLog: 'r.ndjson' });
  assert.deepEqual(run(['--reference-peer', 'ref1'])?.referencePeer, { uco: 'ref1', roundLog: undefined });
  for (const [argv, message] of [
    [['--http', 'nope'], /^invalid value for --http: 'nope' \(expected HOST:PORT, \[IPv6\]:PORT or PORT\)$/],
    [['--http-token', 't'], /^--http-token needs --http$/],
    [['--http-public'], /^--http-public needs --http$/],
    [['--http', '80', '--http-token', ''], /^option --http-token needs a value$/],
    [['--round-log', 'x'], /^--round-log needs --reference-peer$/],
    [['--reference-peer', 'a-b'], /^invalid value for --reference-peer: 'a-b'/],
    [['--http-public=yes', '--http', '80'], /takes no value/],
  ] as const) {
    const parsed = parseStartArgs([...argv]);
    assert.equal(parsed.kind, 'usage-error', argv.join(' '));
    if (parsed.kind === 'usage-error') assert.match(parsed.message, message);
  }
});
