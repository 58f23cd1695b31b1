/**
 * The relay's fast path (src/core/scan.ts) may only ever say "this is a comm line"
 * when JSON.parse agrees, with the same cmd and uco: checked on random objects,
 * random mutations of them, and random bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FAST_SCAN_MAX_BYTES, scanComm, type CommScan } from '../../src/core/scan.js';
import { ManualClock, MemoryConnection, RouletteCore } from '../../src/index.js';

const out: CommScan = { ucoStart: -1, ucoEnd: -1 };

/** The property: a yes from the scanner is a yes from JSON.parse, with the same fields. */
function assertSound(bytes: Uint8Array): boolean {
  if (!scanComm(bytes, out)) return false;
  const text = Buffer.from(bytes).toString('utf8');
  let parsed: unknown;
  assert.doesNotThrow(() => (parsed = JSON.parse(text)), `scanner accepted invalid JSON: ${text}`);
  assert.ok(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), `not an object: ${text}`);
  const msg = parsed as Record<string, unknown>;
  assert.equal(msg.cmd, 'comm', text);
  if (out.ucoStart < 0) assert.equal(msg.uco, undefined, text);
  else assert.equal(Buffer.from(bytes.subarray(out.ucoStart, out.ucoEnd)).toString('utf8'), msg.uco, text);
  return true;
}

const key = fc.oneof(fc.constantFrom('cmd', 'uco', 'sub', 'nonce', 'c\u006dd', '\\u0063md'), fc.string({ maxLength: 6 }));
const scalar = fc.oneof(fc.constantFrom('comm', 'exit', 'pong', ''), fc.string({ maxLength: 8 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const value = fc.oneof({ depthSize: 'small' }, scalar, fc.jsonValue({ maxDepth: 3 }));
/** Objects serialised by hand, so duplicate keys and escaped keys occur. */
const objectText = fc
  .tuple(fc.array(fc.tuple(key, value), { maxLength: 6 }), fc.constantFrom('', ' ', '\t', '\r\n'), fc.boolean())
  .map(([members, space, rawKeys]) => {
    const body = members
      .map(([k, v]) => `${rawKeys && /^[a-z\\0-9]*$/.test(k) ? `"${k}"` : JSON.stringify(k)}${space}:${space}${JSON.stringify(v) ?? 'null'}`)
      .join(`,${space}`);
    return `${space}{${space}${body}${space}}${space}`;
  });

test('scan: on random objects, the fast path agrees with JSON.parse whenever it answers', () => {
  fc.assert(fc.property(objectText, (text) => void assertSound(Buffer.from(text))), { numRuns: 3000 });
});

test('scan: on mutated objects (bytes inserted, deleted, replaced), it never accepts what JSON.parse refuses', () => {
  const mutated = fc.tuple(objectText, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('insert', 'delete', 'replace')), { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    const bytes = [...Buffer.from(text)];
    for (const [at, byte, kind] of edits) {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (kind === 'insert') bytes.splice(i, 0, byte);
      else if (kind === 'delete') bytes.splice(i, 1);
      else bytes[i] = byte;
    }
    return Uint8Array.from(bytes);
  });
  fc.assert(fc.property(mutated, (bytes) => void assertSound(bytes)), { numRuns: 5000 });
});

test('scan: on random bytes it never accepts what JSON.parse refuses', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void assertSound(bytes)), { numRuns: 3000 });
});

test('scan: plain comm lines take the fast path, with the uco located', () => {
  const line = Buffer.from('{"cmd":"comm","uco":"409123","sub":"dh1","n":[1,{"a":null}],"x":-1.5e3}');
  assert.equal(assertSound(line), true);
  assert.equal(line.subarray(out.ucoStart, out.ucoEnd).toString(), '409123');
  assert.equal(assertSound(Buffer.from(' { "x" : true , "cmd" : "comm" } ')), true);
  assert.equal(out.ucoStart, -1);
});

test('scan: what it leaves to JSON.parse', () => {
  const slow = [
    '{"cmd":"exit"}', // not comm
    '{"cmd":"comm","cmd":"exit"}', // the last duplicate counts
    '{"\\u0063md":"comm"}', // an escaped top-level key
    '{"cmd":"comm","uco":"a\\"b"}', // an escaped uco
    '{"cmd":"comm","uco":433}', // a number uco: sanitised on the ordinary path
    '{"cmd":"c\\u006fmm"}',
    '{"cmd":"comm",}',
    '{"cmd":"comm"} x',
    '[{"cmd":"comm"}]',
    `{"cmd":"comm","p":"${'x'.repeat(FAST_SCAN_MAX_BYTES)}"}`, // long lines
    `{"cmd":"comm","d":${'['.repeat(100)}${']'.repeat(100)}}`, // deep nesting
  ];
  for (const text of slow) assert.equal(scanComm(Buffer.from(text), out), false, text);
  assert.equal(scanComm(Buffer.from('{"cmd":"exit","cmd":"comm"}'), out), true);
});

/** A started core on a ManualClock with alice and bob registered and paired. */
function pairedCore(options: { rateLimit: number; rateBurst: number }): { clock: ManualClock; alice: MemoryConnection; bob: MemoryConnection } {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, ...options });
  core.start();
  const alice = new MemoryConnection(core);
  const bob = new MemoryConnection(core);
  alice.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
  bob.send({ cmd: 'connect', uco: 'bob', nonce: 1 });
  core.pairFreeClients();
  return { clock, alice, bob };
}

test('scan: the fast path (bytes) and the ordinary path (strings) answer every line alike, rate limit included', () => {
  const uco = fc.constantFrom('"alice"', '"bob"', '"al-ice"', '433', '"alice\\u0000"', '{}', '"ALICE"');
  const commLine = fc.oneof(
    objectText,
    fc.tuple(uco, fc.jsonValue({ maxDepth: 2 })).map(([u, v]) => `{"cmd":"comm","uco":${u},"v":${JSON.stringify(v) ?? 'null'}}`),
    fc.jsonValue({ maxDepth: 2 }).map((v) => `{"cmd":"comm","v":${JSON.stringify(v) ?? 'null'}}`),
  );
  const step = fc.tuple(commLine.filter((l) => !l.includes('\n')), fc.integer({ min: 0, max: 400 }));
  fc.assert(
    fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
      const bytes = pairedCore({ rateLimit: 10, rateBurst: 3 });
      const strings = pairedCore({ rateLimit: 10, rateBurst: 3 });
      for (const [line, ms] of steps) {
        bytes.clock.advance(ms);
        strings.clock.advance(ms);
        bytes.alice.write(`${line}\n`);
        strings.alice.send(line);
      }
      assert.deepEqual(bytes.alice.lines, strings.alice.lines);
      assert.deepEqual(bytes.bob.lines, strings.bob.lines);
    }),
    { numRuns: 300 },
  );
});
