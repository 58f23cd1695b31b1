/** The CLI's console pieces: the --http address. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHttpAddress } from '../../src/cli/console.js';

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
