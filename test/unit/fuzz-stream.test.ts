/**
 * Fuzz and property tests over the stream adapter ({@link attachStream}): random
 * bytes, malformed and hostile JSON, lines cut at any byte, random command sequences.
 * No exception escapes, the input buffer stays bounded (PROTOCOL §1), pairs stay
 * symmetric, and nothing is written after an `exit` (PROTOCOL §7). Bounded runs.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { attachStream, ManualClock, RouletteCore, type ConnectionHandle, type RouletteOptions } from '../../src/index.js';
import { inspectCore } from '../../src/testing/index.js';
import { inputBuffered } from '../helpers/core.js';

/** A socket-like duplex: input pushed by the test, output collected. */
class FakeSocket extends Duplex {
  readonly out: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.out.push(chunk);
    cb();
  }
  override _final(cb: (error?: Error | null) => void): void {
    cb();
  }
  lines(): string[] {
    const text = Buffer.concat(this.out).toString('utf8');
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Rig {
  core: RouletteCore;
  clock: ManualClock;
  socks: FakeSocket[];
  handles: ConnectionHandle[];
}

async function rig(n: number, options: Omit<RouletteOptions, 'clock'> = {}): Promise<Rig> {
  const clock = new ManualClock();
  const core = new RouletteCore({ ...options, clock, pairDelayMs: 0 });
  core.start();
  const socks: FakeSocket[] = [];
  const handles: ConnectionHandle[] = [];
  for (let i = 0; i < n; i++) {
    const sock = new FakeSocket();
    socks.push(sock);
    handles.push(attachStream(core, sock, { remoteAddress: `fuzz-${i}` }));
  }
  await tick(); // the streams are flowing: a push is delivered synchronously
  return { core, clock, socks, handles };
}

function checkInvariants(r: Rig): void {
  for (const info of r.core.clients()) {
    if (info.peer !== undefined) assert.equal(r.core.client(info.peer)?.peer, info.uco, `pair ${info.uco} <-> ${info.peer} is symmetric`);
  }
  for (const conn of inspectCore(r.core).clients) assert.equal(conn.state, 'open');
  assert.ok(r.core.stats().pairs * 2 <= r.core.stats().clients);
}

async function finish(r: Rig): Promise<void> {
  r.core.stop();
  await tick();
  await tick();
  for (const sock of r.socks) {
    const lines = sock.lines();
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `the server writes JSON: ${line.slice(0, 80)}`);
    const exitAt = lines.findIndex((line) => line.startsWith('{"exit":true'));
    assert.ok(exitAt === -1 || exitAt === lines.length - 1, 'nothing is written after exit');
    sock.destroy();
  }
  await tick();
  assert.equal(r.core.stats().connections, 0);
  assert.equal(r.clock.pendingTimers, 0, 'every drain timer released');
}

/** Splits `bytes` at the given cut points (any byte, even inside a UTF-8 sequence). */
function cut(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(Buffer.from(bytes.subarray(from, p)));
    from = p;
  }
  chunks.push(Buffer.from(bytes.subarray(from)));
  return chunks.filter((c) => c.length > 0);
}

const MAX_LINE = 256;

const hostileLine = fc.oneof(
  fc.json(),
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify({ cmd: 'comm', v })),
  fc.constantFrom(
    '[',
    '{"cmd":"connect","uco":',
    '{"cmd":"comm","n":1e999999}',
    '{"cmd":"comm","n":123456789012345678901234567890}',
    '{"cmd":{"a":1}}',
    '{"cmd":"connect","uco":{}}',
    '{"cmd":"connect","uco":"\u0000\u00ff"}',
    '{"__proto__":{"cmd":"exit"}}',
    'null',
    '"x"',
    '\r',
  ),
  fc.integer({ min: 1, max: MAX_LINE * 2 }).map((n) => '['.repeat(n)),
);

const command = (ucos: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...ucos).map((uco) => JSON.stringify({ cmd: 'connect', uco, nonce: 1 })),
    fc.constant('{"cmd":"comm","m":"hi"}'),
    fc.constant('{"cmd":"pong"}'),
    fc.constant('{"cmd":"exit"}'),
    fc.constantFrom(...ucos).map((uco) => JSON.stringify({ cmd: 'comm', uco })),
    hostileLine,
  );

describe('fuzz: the stream adapter under hostile input', () => {
  test('random bytes in random chunks: no exception, input buffer ≤ maxLineBytes + 1, JSON out, nothing after exit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 12 }), fc.boolean(), async (chunks, strict) => {
        const r = await rig(1, { maxLineBytes: MAX_LINE, strict });
        const [sock, handle] = [r.socks[0] as FakeSocket, r.handles[0] as ConnectionHandle];
        for (const chunk of chunks) {
          sock.push(Buffer.from(chunk));
          assert.ok(inputBuffered(r.core, handle) <= MAX_LINE + 1);
        }
        checkInvariants(r);
        await finish(r);
      }),
      { numRuns: 150 },
    );
  });

  test('hostile lines (malformed JSON, deep nesting, huge numbers, invalid UTF-8) cut at any byte', async () => {
    const invalidUtf8 = fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => Buffer.concat([Buffer.from('{"cmd":"comm","x":"'), Buffer.from(b.map((x) => x | 0x80)), Buffer.from('"}')]));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(hostileLine.map((l) => Buffer.from(l)), invalidUtf8), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        async (lines, cuts, eol) => {
          const r = await rig(1, { maxLineBytes: MAX_LINE });
          const [sock, handle] = [r.socks[0] as FakeSocket, r.handles[0] as ConnectionHandle];
          const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from(eol)]));
          for (const chunk of cut(bytes, cuts)) {
            sock.push(chunk);
            assert.ok(inputBuffered(r.core, handle) <= MAX_LINE + 1);
          }
          checkInvariants(r);
          await finish(r);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('100 000 "[" and a 10 000-digit number at the default maxLineBytes: answered, not thrown', async () => {
    const r = await rig(1);
    const sock = r.socks[0] as FakeSocket;
    sock.push(`${'['.repeat(100_000)}\n`);
    sock.push(`${'['.repeat(30_000)}\n`);
    sock.push(`{"cmd":"comm","n":${'9'.repeat(10_000)}}\n`);
    await tick();
    assert.deepEqual(sock.lines(), ['{"error":"message too long"}', '{"error":"invalid json"}', '{"error":"not registered","msg":{"cmd":"comm","n":null}}']);
    await finish(r);
  });

  test('random command sequences on 4 connections, with time passing: pairs symmetric, nothing after exit', async () => {
    const ucos = ['a', 'b', 'c', 'd', 'e'];
    const step = fc.record({
      who: fc.nat({ max: 3 }),
      line: command(ucos),
      cuts: fc.array(fc.nat(), { maxLength: 3 }),
      advance: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8_000 })),
      close: fc.boolean().map((b) => b && Math.random() < 0.05),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const r = await rig(4, { maxLineBytes: MAX_LINE, rateBurst: 20, rateLimit: 10 });
        for (const s of steps) {
          const sock = r.socks[s.who] as FakeSocket;
          if (s.close) sock.push(null);
          else if (!sock.destroyed) for (const chunk of cut(Buffer.from(`${s.line}\n`), s.cuts)) sock.push(chunk);
          if (s.advance > 0) r.clock.advance(s.advance);
          if (s.close) await tick();
          checkInvariants(r);
          assert.ok(inputBuffered(r.core, r.handles[s.who] as ConnectionHandle) <= MAX_LINE + 1);
        }
        await finish(r);
      }),
      { numRuns: 100 },
    );
  });
});
