/**
 * The relay's fast path (src/core/scan.ts) may only ever say "this is a comm line"
 * when JSON.parse agrees, with the same cmd and uco: checked on random objects,
 * random mutations of them, and random bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LONG_LINE_BYTES, scanComm, type CommScan } from '../../src/core/scan.js';
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
    `{"cmd":"comm",\t"p":"${'x'.repeat(LONG_LINE_BYTES)}"}`, // a control byte (here a tab between tokens) in a long line
    `{"cmd":"comm","d":${'['.repeat(100)}${']'.repeat(100)}}`, // deep nesting
  ];
  for (const text of slow) assert.equal(scanComm(Buffer.from(text), out), false, text);
  assert.equal(scanComm(Buffer.from('{"cmd":"exit","cmd":"comm"}'), out), true);
});

// ── long lines (over LONG_LINE_BYTES: control-byte pass, then Buffer.indexOf) ──────

/** Long string contents: plain ASCII runs, escapes, quotes, backslashes, any Unicode. */
const longContent = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => 'AbZ09+/='.repeat(Math.ceil(n / 8)).slice(0, n)) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
      { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\n', '\u00e9', '\t', '\u0000', '\ud83d', '/') },
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

/** Long comm objects as a client would send them: JSON.stringify, so every key is unescaped and no control byte is raw. */
const longComm = fc
  .tuple(
    fc.dictionary(fc.constantFrom('p', 'sub', 'nonce', 'data', 'n', 'x'), fc.oneof(longContent, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.jsonValue({ maxDepth: 4 })), { maxKeys: 4 }),
    fc.constantFrom(undefined, 'alice', 'x'.repeat(30)),
    fc.integer({ min: 0, max: 4 }),
  )
  .map(([rest, uco, at]) => {
    const entries = Object.entries(rest);
    entries.splice(Math.min(at, entries.length), 0, ['cmd', 'comm']);
    if (uco !== undefined) entries.push(['uco', uco]);
    return Object.fromEntries(entries);
  });

/** Splices raw bytes (invalid UTF-8 among them) into the content of the first long string value. */
function withRawBytes(text: string, raw: readonly number[]): Buffer | undefined {
  const at = text.indexOf('"p":"');
  if (at < 0) return undefined;
  const bytes = Buffer.from(text);
  const cut = Buffer.byteLength(text.slice(0, at)) + 5;
  return Buffer.concat([bytes.subarray(0, cut), Buffer.from(raw), bytes.subarray(cut)]);
}

test('scan: long comm lines (escapes, numbers, nesting, any Unicode) take the fast path, and JSON.parse agrees', () => {
  fc.assert(
    fc.property(longComm, (msg) => {
      const line = Buffer.from(JSON.stringify(msg));
      assert.equal(assertSound(line), true, `a valid comm line was refused: ${line.length} B`);
    }),
    { numRuns: 400 },
  );
});

test('scan: invalid UTF-8 inside a string is accepted exactly as the ordinary path accepts it (toString makes it U+FFFD)', () => {
  const raw = fc.array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.constantFrom(0xc0, 0xc1, 0xed, 0xf5, 0xff, 0xe2, 0x82)), { minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(longComm, raw, fc.boolean(), (msg, bytes, short) => {
      const text = JSON.stringify(short ? { cmd: 'comm', p: 'ab' } : { ...msg, p: 'x'.repeat(LONG_LINE_BYTES) });
      const line = withRawBytes(text, bytes) as Buffer;
      assert.doesNotThrow(() => JSON.parse(line.toString('utf8')));
      assert.equal(assertSound(line), true);
    }),
    { numRuns: 400 },
  );
  // Outside a string, no byte ≥ 0x80 is valid: both paths refuse it.
  const outside = Buffer.concat([Buffer.from(`{"cmd":"comm","p":"${'x'.repeat(LONG_LINE_BYTES)}",`), Buffer.from([0xc3, 0xa9]), Buffer.from(':1}')]);
  assert.equal(scanComm(outside, out), false);
  assert.throws(() => JSON.parse(outside.toString('utf8')));
});

test('scan: on mutated long lines (any byte inserted, deleted, replaced), it never accepts what JSON.parse refuses', () => {
  const special = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x22, 0x5c, 0x00, 0x09, 0x0d, 0x1f, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x75));
  const mutated = fc
    .tuple(longComm, fc.array(fc.tuple(fc.nat(), special, fc.constantFrom('insert', 'delete', 'replace')), { minLength: 1, maxLength: 3 }))
    .map(([msg, edits]) => {
      const bytes = [...Buffer.from(JSON.stringify(msg))];
      for (const [at, byte, kind] of edits) {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (kind === 'insert') bytes.splice(i, 0, byte);
        else if (kind === 'delete') bytes.splice(i, 1);
        else bytes[i] = byte;
      }
      return Buffer.from(bytes);
    });
  fc.assert(fc.property(mutated, (bytes) => void assertSound(bytes)), { numRuns: 1500 });
});

test('scan: long lines at every alignment, with the control byte or the escape at either end', () => {
  const pool = Buffer.alloc(40_000);
  for (const size of [LONG_LINE_BYTES + 1, 1024, 4095, 16_384]) {
    const text = `{"cmd":"comm","p":"${'y'.repeat(size - 22)}"}`;
    for (let shift = 0; shift < 8; shift++) {
      const line = pool.subarray(shift, shift + text.length);
      line.write(text, 'latin1');
      assert.equal(assertSound(line), true, `${size} B at +${shift}`);
      for (const at of [19, 20, 21, line.length - 5, line.length - 4, line.length - 3]) {
        const keep = line[at] as number;
        for (const byte of [0x00, 0x1f, 0x0d, 0x5c, 0x22, 0xff]) {
          line[at] = byte;
          const parses = (() => {
            try {
              const v = JSON.parse(line.toString('utf8')) as { cmd?: unknown };
              return v.cmd === 'comm';
            } catch {
              return false;
            }
          })();
          // Sound always; complete for the bytes that keep the line valid JSON.
          assert.equal(assertSound(line), parses && byte !== 0x0d && byte >= 0x20, `${size} B at +${shift}, byte ${byte} at ${at}`);
        }
        line[at] = keep;
      }
    }
  }
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
    // Long lines: since issue 14 they take the fast path too.
    fc.tuple(uco, longContent, fc.constantFrom('', '\t', ' ')).map(([u, p, space]) => `{"cmd":"comm",${space}"uco":${u},"p":${JSON.stringify(p)}}`),
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
