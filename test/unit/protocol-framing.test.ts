/** PROTOCOL §1 Framing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectCore } from '../../src/testing/index.js';
import { exitLine, fresh, harness } from '../helpers/core.js';

const CONNECT = '{"cmd":"connect","uco":"alice","nonce":1}';

test('PROTOCOL §1: each message is one JSON object terminated by \\n, in any chunking', () => {
  const h = harness();
  const a = h.open();
  const bytes = Buffer.from(`${CONNECT}\n{"cmd":"bogus"}\n`);
  for (const byte of bytes) a.write(Uint8Array.of(byte));
  assert.deepEqual(fresh(a), ['{"ack":"1"}', '{"error":"Unknown command [bogus]"}']);
});

test('PROTOCOL §1: several messages in one chunk are each answered, in order', () => {
  const h = harness();
  const a = h.open();
  a.write(`${CONNECT}\n{"cmd":"x"}\n{"cmd":"y"}\n`);
  assert.deepEqual(fresh(a), ['{"ack":"1"}', '{"error":"Unknown command [x]"}', '{"error":"Unknown command [y]"}']);
});

test('PROTOCOL §1: an unterminated line is not processed until its \\n arrives', () => {
  const h = harness();
  const a = h.open();
  a.write(CONNECT);
  assert.deepEqual(fresh(a), []);
  a.write('\n');
  assert.deepEqual(fresh(a), ['{"ack":"1"}']);
});

test('PROTOCOL §1: messages are UTF-8 (a multi-byte character split across chunks survives)', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  const bytes = Buffer.from('{"cmd":"comm","text":"žluťoučký 🐎"}\n');
  a.write(bytes.subarray(0, 25));
  a.write(bytes.subarray(25));
  assert.deepEqual(fresh(b), ['{"cmd":"comm","text":"žluťoučký 🐎"}']);
});

test('PROTOCOL §1: a trailing \\r before \\n is ignored', () => {
  const h = harness();
  const a = h.open();
  a.write(`${CONNECT}\r\n`);
  assert.deepEqual(fresh(a), ['{"ack":"1"}']);
});

test('PROTOCOL §1: a trailing \\r is ignored on message-based input too (receiveLine, string or bytes)', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send('{"cmd":"comm","n":1}\r');
  a.handle.receiveLine(Buffer.from('{"cmd":"comm","n":2}\r'));
  a.write('{"cmd":"comm","n":3}\r\n');
  assert.deepEqual(fresh(b), ['{"cmd":"comm","n":1}', '{"cmd":"comm","n":2}', '{"cmd":"comm","n":3}']);
});

test('PROTOCOL §1: a message-based line holding "\\n" is read as the lines it contains; no peer ever gets a raw newline', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send('{"cmd":"comm","n":1}\n{"cmd":"comm","n":2}\r\n');
  a.handle.receiveLine(Buffer.from('{"cmd":"comm","n":3}\n{"cmd":"comm","n":4}'));
  // Valid JSON across a newline is two broken lines, not one relayed line with a newline inside.
  a.send('{"cmd":"comm",\n"n":5}');
  assert.deepEqual(fresh(b), ['{"cmd":"comm","n":1}', '{"cmd":"comm","n":2}', '{"cmd":"comm","n":3}', '{"cmd":"comm","n":4}']);
  assert.deepEqual(fresh(a), ['{"error":"invalid json"}', '{"error":"invalid json"}']);
});

test('PROTOCOL §1: empty lines (after trimming ASCII whitespace) are ignored', () => {
  const h = harness();
  const a = h.open();
  a.write('\n\r\n   \n\t \r\n');
  a.send('');
  a.send('  \t');
  assert.deepEqual(fresh(a), []);
  assert.equal(a.isClosed, false);
});

test('PROTOCOL §1: the server writes compact JSON (no spaces)', () => {
  const h = harness();
  const a = h.open();
  a.write('{ "cmd" : "connect" , "uco" : "alice" , "nonce" : 7 }\n');
  a.write('{ "cmd" : "comm" }\n');
  assert.deepEqual(fresh(a), ['{"ack":"7"}', '{"error":"no peer","msg":{"cmd":"comm"}}']);
});

test('PROTOCOL §1: a line of exactly maxLineBytes is accepted', () => {
  const h = harness({ maxLineBytes: 64 });
  const a = h.open();
  const line = `{"cmd":"x","pad":"${'p'.repeat(64 - 20)}"}`;
  assert.equal(Buffer.byteLength(line), 64);
  a.write(`${line}\n`);
  a.write(`${line}\r\n`);
  a.send(line);
  a.send(`${line}\r`);
  a.handle.receiveLine(Buffer.from(`${line}\r`));
  assert.deepEqual(fresh(a), Array(5).fill('{"error":"Unknown command [x]"}'));
});

test('PROTOCOL §1: a line longer than maxLineBytes gets {"error":"message too long"} and the connection stays open', () => {
  const h = harness({ maxLineBytes: 64 });
  const a = h.open();
  const line = `{"cmd":"x","pad":"${'p'.repeat(64 - 19)}"}`;
  assert.equal(Buffer.byteLength(line), 65);
  a.write(`${line}\n`);
  assert.deepEqual(fresh(a), ['{"error":"message too long"}']);
  assert.equal(a.isClosed, false);
  a.write(`${CONNECT}\n`);
  assert.deepEqual(fresh(a), ['{"ack":"1"}']);
});

test('PROTOCOL §1: maxLineBytes counts bytes, not characters', () => {
  const h = harness({ maxLineBytes: 64 });
  const a = h.open();
  // 30 two-byte characters: 48 characters, 78 bytes.
  const line = `{"cmd":"x","p":"${'ž'.repeat(30)}"}`;
  assert.ok(line.length <= 64 && Buffer.byteLength(line) > 64);
  a.write(`${line}\n`);
  a.send(line);
  assert.deepEqual(fresh(a), ['{"error":"message too long"}', '{"error":"message too long"}']);
});

test('PROTOCOL §1: a too-long line is discarded without being parsed (even when it arrives in pieces)', () => {
  const h = harness({ maxLineBytes: 64 });
  const a = h.open();
  // A valid connect, but too long: it must not register.
  const long = `{"cmd":"connect","uco":"alice","pad":"${'p'.repeat(100)}"}`;
  for (let i = 0; i < long.length; i += 10) a.write(long.slice(i, i + 10));
  a.write('\n');
  assert.deepEqual(fresh(a), ['{"error":"message too long"}']);
  assert.equal(h.core.client('alice'), undefined);
  a.write(`${CONNECT}\n`);
  assert.deepEqual(fresh(a), ['{"ack":"1"}']);
});

test('PROTOCOL §1: a too-long line is answered once, then the next line is read normally', () => {
  const h = harness({ maxLineBytes: 64 });
  const a = h.open();
  a.write('x'.repeat(100));
  a.write('y'.repeat(100));
  a.write(`z\n${CONNECT}\n`);
  assert.deepEqual(fresh(a), ['{"error":"message too long"}', '{"ack":"1"}']);
});

test('PROTOCOL §1: a too-long message-based line (receiveLine, string or bytes) gets "message too long"', () => {
  const h = harness({ maxLineBytes: 64 });
  const a = h.open();
  const line = `{"cmd":"connect","uco":"alice","pad":"${'p'.repeat(100)}"}`;
  a.send(line);
  a.handle.receiveLine(Buffer.from(line));
  a.handle.receiveLine(new TextEncoder().encode(line));
  assert.deepEqual(fresh(a), Array(3).fill('{"error":"message too long"}'));
  assert.equal(h.core.client('alice'), undefined);
});

test('PROTOCOL §1: the server never buffers more than maxLineBytes + one read chunk of an unfinished line', () => {
  const maxLineBytes = 1024;
  const h = harness({ maxLineBytes });
  const a = h.open();
  const buffered = (): number => inspectCore(h.core).connections.find((c) => c.id === a.handle.id)?.inputBufferedBytes ?? -1;
  const chunk = 'x'.repeat(300);
  let most = 0;
  for (let i = 0; i < 100; i++) {
    a.write(chunk);
    most = Math.max(most, buffered());
  }
  assert.ok(most <= maxLineBytes + chunk.length, `buffered ${most}`);
  assert.equal(buffered(), 0);
  a.write(`\n${CONNECT}\n`);
  assert.deepEqual(fresh(a), ['{"error":"message too long"}', '{"ack":"1"}']);
});

test('PROTOCOL §1: a line that is not valid JSON gets {"error":"invalid json"} and the connection stays open', () => {
  const h = harness();
  const a = h.open();
  a.write('{"cmd":\n');
  a.send('hello');
  assert.deepEqual(fresh(a), ['{"error":"invalid json"}', '{"error":"invalid json"}']);
  assert.equal(a.isClosed, false);
});

for (const [name, text] of [
  ['array', '[1,2]'],
  ['number', '42'],
  ['string', '"connect"'],
  ['null', 'null'],
  ['boolean', 'true'],
] as const) {
  test(`PROTOCOL §1: valid JSON that is not an object (${name}) gets {"error":"invalid message"} and the connection stays open`, () => {
    const h = harness();
    const a = h.open();
    a.write(`${text}\n`);
    assert.deepEqual(fresh(a), ['{"error":"invalid message"}']);
    assert.equal(a.isClosed, false);
  });
}

test('PROTOCOL §1 strict: invalid JSON closes after {"exit":true,"reason":"protocol error"}', () => {
  const h = harness({ strict: true });
  const a = h.client('alice');
  a.write('not json\n');
  assert.deepEqual(fresh(a), [exitLine('protocol error')]);
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.client('alice'), undefined);
});

test('PROTOCOL §1 strict: a non-object message closes after {"exit":true,"reason":"protocol error"}', () => {
  const h = harness({ strict: true });
  const a = h.open();
  a.write('[1]\n{"cmd":"connect","uco":"alice"}\n');
  assert.deepEqual(fresh(a), [exitLine('protocol error')]);
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.client('alice'), undefined, 'lines after the exit are not processed');
});
