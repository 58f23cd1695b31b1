/** PROTOCOL §2 Identity fields. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, IDENTITY_MAX_LENGTH, sanitizeField, sanitizeUco } from '../../src/index.js';
import { fresh, harness, PING } from '../helpers/core.js';

test('PROTOCOL §2 uco: a JSON string is kept', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'connect', uco: 'xnovak7', nonce: 1 });
  assert.deepEqual(fresh(a), ['{"ack":"1"}']);
  assert.equal(h.core.client('xnovak7')?.uco, 'xnovak7');
});

test('PROTOCOL §2 uco: a JSON number is converted to a string', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":409825,"nonce":1}');
  assert.deepEqual(fresh(a), ['{"ack":"1"}']);
  assert.deepEqual(h.core.clients().map((c) => c.uco), ['409825']);
});

test('PROTOCOL §2 uco: a number beyond 2^53 keeps the digits the client wrote', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":123456789012345678901,"nonce":1}');
  assert.deepEqual(h.core.clients().map((c) => c.uco), ['123456789012345678901']);
});

test('PROTOCOL §2 uco: every character that is not an ASCII letter or digit is removed', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'connect', uco: ' x-Nov_ák 7!\n"ž', nonce: 1 });
  assert.deepEqual(fresh(a), ['{"ack":"1"}']);
  assert.deepEqual(h.core.clients().map((c) => c.uco), ['xNovk7']);
  assert.equal(sanitizeUco(-1.5), '15');
});

test('PROTOCOL §2 uco: at most the first 24 characters are kept (after removing the others)', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'connect', uco: `--${'a'.repeat(20)}-bcdefgh`, nonce: 1 });
  assert.deepEqual(h.core.clients().map((c) => c.uco), [`${'a'.repeat(20)}bcde`]);
  assert.equal(IDENTITY_MAX_LENGTH, 24);
});

for (const [name, uco] of [
  ['boolean', true],
  ['null', null],
  ['array', ['a']],
  ['object', { a: 1 }],
] as const) {
  test(`PROTOCOL §2 uco: any other JSON type (${name}) gives {"error":"invalid uco","msg":<message>}`, () => {
    const h = harness();
    const a = h.open();
    const msg = { cmd: 'connect', uco, nonce: 1 };
    a.send(msg);
    assert.deepEqual(fresh(a), [`{"error":"invalid uco","msg":${JSON.stringify(msg)}}`]);
    assert.equal(h.core.stats().clients, 0);
    assert.equal(a.isClosed, false);
  });
}

test('PROTOCOL §2 uco: a missing uco on connect gives {"error":"invalid uco","msg":<message>}', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","nonce":5}');
  assert.deepEqual(fresh(a), ['{"error":"invalid uco","msg":{"cmd":"connect","nonce":5}}']);
});

test('PROTOCOL §2 uco: an empty result gives {"error":"invalid uco","msg":<message>}', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":"-_- !","nonce":5}');
  a.send('{"cmd":"connect","uco":"","nonce":5}');
  assert.deepEqual(fresh(a), [
    '{"error":"invalid uco","msg":{"cmd":"connect","uco":"-_- !","nonce":5}}',
    '{"error":"invalid uco","msg":{"cmd":"connect","uco":"","nonce":5}}',
  ]);
  assert.equal(h.core.stats().clients, 0);
});

test('PROTOCOL §2 session/nonce: a string is cut to 24 characters', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'connect', uco: 'alice', session: 's'.repeat(30), nonce: 'n-'.repeat(20) });
  assert.deepEqual(fresh(a), [`{"ack":"${'n-'.repeat(12)}"}`]);
  assert.equal(h.core.client('alice')?.session, 's'.repeat(24));
});

test('PROTOCOL §2 session/nonce: a number is converted to a string (real clients send nonce as a number)', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":"alice","session":77,"nonce":123456789}');
  assert.deepEqual(fresh(a), ['{"ack":"123456789"}']);
  assert.equal(h.core.client('alice')?.session, '77');
  assert.equal(sanitizeField(1.5, 'nonce'), '1.5');
});

test('PROTOCOL §2 session/nonce: a long number is cut to 24 characters', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":"alice","nonce":12345678901234567890123456789}');
  assert.deepEqual(fresh(a), ['{"ack":"123456789012345678901234"}']);
});

test('PROTOCOL §2 session/nonce: missing means ""', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'connect', uco: 'alice' });
  assert.deepEqual(fresh(a), ['{"ack":""}']);
  assert.equal(h.core.client('alice')?.session, '');
});

test('PROTOCOL §2: after connect, the registered uco is the identity (a message without uco is routed as it)', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send('{"cmd":"comm","text":"hi"}');
  assert.deepEqual(fresh(b), ['{"cmd":"comm","text":"hi"}']);
});

test('PROTOCOL §2: a later message whose uco equals the registered one after sanitising is accepted', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send('{"cmd":"comm","uco":"a-l-i-c-e","text":"hi"}');
  assert.deepEqual(fresh(a), []);
  assert.deepEqual(fresh(b), ['{"cmd":"comm","uco":"a-l-i-c-e","text":"hi"}']);
});

test('PROTOCOL §2: a comm whose uco differs from the registered one is refused with {"error":"uco mismatch","msg":<message>}', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send('{"cmd":"comm","uco":"bob","text":"spoof"}');
  assert.deepEqual(fresh(a), ['{"error":"uco mismatch","msg":{"cmd":"comm","uco":"bob","text":"spoof"}}']);
  assert.deepEqual(fresh(b), []);
});

test('PROTOCOL §2: a pong for another uco is refused with "uco mismatch" and does not refresh liveness', () => {
  const h = harness();
  const a = h.client('alice');
  h.clock.advance(DEFAULTS.deadAfterMs - 1000);
  a.send({ cmd: 'pong', uco: 'bob' });
  assert.deepEqual(fresh(a).filter((l) => l !== PING), ['{"error":"uco mismatch","msg":{"cmd":"pong","uco":"bob"}}']);
  h.clock.advance(1000);
  assert.equal(a.closedBy, 'server');
  assert.equal(a.lines.at(-1), '{"exit":true,"reason":"timeout"}');
});

test('PROTOCOL §2: an exit for another uco is refused with "uco mismatch" and the connection stays', () => {
  const h = harness();
  const a = h.client('alice');
  a.send({ cmd: 'exit', uco: 'bob' });
  assert.deepEqual(fresh(a), ['{"error":"uco mismatch","msg":{"cmd":"exit","uco":"bob"}}']);
  assert.equal(a.isClosed, false);
  assert.equal(h.core.client('alice')?.connectionId, a.handle.id);
});

test('PROTOCOL §2: a mismatching number uco is compared after conversion', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":42,"nonce":1}');
  fresh(a);
  a.send('{"cmd":"comm","uco":"42"}');
  a.send('{"cmd":"comm","uco":43}');
  assert.deepEqual(fresh(a), [
    '{"error":"no peer","msg":{"cmd":"comm","uco":"42"}}',
    '{"error":"uco mismatch","msg":{"cmd":"comm","uco":43}}',
  ]);
});

test('PROTOCOL §2 session/nonce: another JSON type (boolean, null, object) is read as missing, ""', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":"alice","session":{"s":1},"nonce":true}');
  const b = h.open();
  b.send('{"cmd":"connect","uco":"bob","session":null,"nonce":[1]}');
  assert.deepEqual(fresh(a), ['{"ack":""}']);
  assert.deepEqual(fresh(b), ['{"ack":""}']);
  assert.equal(h.core.client('alice')?.session, '');
});
