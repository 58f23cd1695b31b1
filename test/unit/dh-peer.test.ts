/**
 * DhReferencePeer (DH-EXERCISE.md): rounds against itself in both roles and every
 * group, through a real RouletteCore; every failure reason against a scripted student.
 * ManualClock throughout: no sleeping.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RouletteCore } from '../../src/core/core.js';
import { MemoryConnection } from '../../src/transports/memory.js';
import {
  connectionIdOf,
  DhKeyPair,
  DhReferencePeer,
  dhverif,
  encodeDhPublicKey,
  jdkGroup,
  parseDhPublicKey,
  readRoundLog,
  toBigInt,
  toBytes,
  byteLength,
  writeRoundLog,
  type DhGroup,
  type DhGroupBits,
  type DhPeerOptions,
  type DhRoundEvent,
} from '../../src/testing/dh/index.js';

const TS = '2026-01-01T00:00:00.000Z';

interface Harness {
  peer: DhReferencePeer;
  events: DhRoundEvent[];
  clock: ManualClock;
}

function harness(options: Partial<DhPeerOptions> & { uco: string }, clock = new ManualClock()): Harness {
  const peer = new DhReferencePeer({ clock, timestamp: () => TS, ...options });
  const events: DhRoundEvent[] = [];
  peer.on('round', (e) => events.push(e));
  return { peer, events, clock };
}

function steps(events: readonly DhRoundEvent[]): string[] {
  return events.map((e) => e.event);
}

function lastFail(events: readonly DhRoundEvent[]): DhRoundEvent | undefined {
  return events.filter((e) => e.event === 'fail').at(-1);
}

function parse(line: string | undefined): Record<string, unknown> {
  assert.ok(line !== undefined, 'expected a line');
  return JSON.parse(line) as Record<string, unknown>;
}

const pair = (uco: string): string => JSON.stringify({ cmd: 'pair', uco });
const comm = (uco: string, sub: string, fields: Record<string, unknown> = {}): string =>
  JSON.stringify({ cmd: 'comm', sub, uco, session: '', nonce: 1, ...fields });

const INITIATOR_STEPS = ['pair', 'dh1_send', 'dh2_recv', 'dh_done', 'dhc_send', 'dhc_recv', 'dhc_check', 'finish'];
const RESPONDER_STEPS = ['pair', 'dh1_recv', 'dh2_send', 'dh_done', 'dhc_recv', 'dhc_check', 'dhc_send', 'finish'];

/** Two state machines wired directly: every line of one is the other's input. */
function playDirect(a: Harness, b: Harness): void {
  const queue: Array<[Harness, string]> = [
    [a, pair(b.peer.uco)],
    [b, pair(a.peer.uco)],
  ];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const [to, line] = item;
    const other = to === a ? b : a;
    for (const out of to.peer.receive(line)) queue.push([other, out]);
  }
}

/** Both peers as clients of a real core over MemoryConnections; pumps until quiet. */
function playThroughCore(a: Harness, b: Harness, clock: ManualClock): { core: RouletteCore; pump: () => void } {
  const core = new RouletteCore({ clock });
  const conns = new Map<Harness, MemoryConnection>([
    [a, new MemoryConnection(core)],
    [b, new MemoryConnection(core)],
  ]);
  const pump = (): void => {
    for (let moved = true; moved; ) {
      moved = false;
      for (const [h, conn] of conns) {
        const fresh = conn.lines.splice(0);
        for (const line of fresh) {
          moved = true;
          for (const out of h.peer.receive(line)) conn.send(out);
        }
      }
    }
  };
  core.start();
  for (const [h, conn] of conns) conn.send(h.peer.connectLine());
  clock.advance(100); // PROTOCOL §6: free clients paired within pairDelayMs
  pump();
  return { core, pump };
}

describe('DH-EXERCISE round: reference peer against itself', () => {
  for (const bits of [1024, 2048, 3072] as const) {
    it(`${bits}-bit group, state machine to state machine: both finish, steps in order`, () => {
      const clock = new ManualClock();
      const a = harness({ uco: '410001', bits }, clock);
      const b = harness({ uco: '410002', bits: 1024 }, clock); // the responder takes the initiator's group
      playDirect(a, b);
      assert.deepEqual(steps(a.events), INITIATOR_STEPS);
      assert.deepEqual(steps(b.events), RESPONDER_STEPS);
      assert.ok(a.events.every((e) => e.role === 'initiator' && e.student === '410002' && e.round === 1));
      assert.ok(b.events.every((e) => e.role === 'responder' && e.student === '410001' && e.round === 1));
      assert.deepEqual(a.events.find((e) => e.event === 'dhc_check')?.ok, true);
      assert.equal(a.peer.current?.status, 'finished');
      assert.equal(b.peer.current?.status, 'finished');
      assert.equal(clock.pendingTimers, 0);
    });

    it(`${bits}-bit group through a RouletteCore with MemoryConnections, then a second epoch`, () => {
      const clock = new ManualClock();
      const a = harness({ uco: 'zed', bits }, clock);
      const b = harness({ uco: 'Zed', bits }, clock); // 'Z' < 'z': b initiates
      const { core, pump } = playThroughCore(a, b, clock);
      assert.deepEqual(steps(b.events), INITIATOR_STEPS);
      assert.deepEqual(steps(a.events), RESPONDER_STEPS);
      core.nextEpoch(); // only two clients: paired again, a new round
      pump();
      assert.equal(a.peer.roundCount, 2);
      assert.deepEqual(steps(a.events.filter((e) => e.round === 2)), RESPONDER_STEPS);
      assert.deepEqual(steps(b.events.filter((e) => e.round === 2)), INITIATOR_STEPS);
      for (let t = 0; t < 20; t++) {
        clock.advance(1_000); // PROTOCOL §5: pings answered, the peers stay registered
        pump();
      }
      assert.deepEqual(core.clients().map((c) => c.uco).sort(), ['Zed', 'zed']); // alive: pongs sent
      core.stop();
    });
  }

  it('the responder answers in the initiator\'s group, with its l (as the JDK does)', () => {
    const b = harness({ uco: 'b2', bits: 1024 });
    const initiator = DhKeyPair.generate(jdkGroup(3072));
    const [dh2] = b.peer.receive(pair('a1')).concat(b.peer.receive(comm('a1', 'dh1', { dhpub: initiator.dhpub })));
    const key = parseDhPublicKey(parse(dh2)['dhpub']);
    assert.ok(key.ok);
    assert.equal(key.value.p, jdkGroup(3072).p);
    assert.equal(key.value.l, 256);
  });
});

describe('DH-EXERCISE pings and NDJSON log', () => {
  it('answers ping with pong carrying uco, session and a nonce', () => {
    const { peer } = harness({ uco: 'a1', session: 's1' });
    const pong = parse(peer.receive('{"cmd":"ping"}')[0]);
    assert.equal(pong['cmd'], 'pong');
    assert.equal(pong['uco'], 'a1');
    assert.equal(pong['session'], 's1');
    assert.equal(typeof pong['nonce'], 'number');
  });

  it('writes each round event as one NDJSON line with the shared field names', async () => {
    const clock = new ManualClock();
    const a = harness({ uco: 'a1', bits: 1024 }, clock);
    const b = harness({ uco: 'b2' }, clock);
    const chunks: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    const log = writeRoundLog(a.peer, out);
    playDirect(a, b);
    await log.close();
    const lines = chunks.join('');
    assert.equal(lines.split('\n').filter(Boolean).length, INITIATOR_STEPS.length);
    assert.deepEqual(readRoundLog(lines), a.events);
    assert.deepEqual(Object.keys(readRoundLog(lines)[0] ?? {}), ['ts', 'event', 'peer', 'student', 'role', 'round']);
  });

  it('a failing output never raises an unhandled error: reported once, close() resolves', async () => {
    const clock = new ManualClock();
    const a = harness({ uco: 'a1', bits: 1024 }, clock);
    const b = harness({ uco: 'b2' }, clock);
    const out = new Writable({
      write(_chunk: Buffer, _enc, cb) {
        cb(new Error('disk full'));
      },
    });
    const errors: Error[] = [];
    const log = writeRoundLog(a.peer, out, { onError: (error) => errors.push(error) });
    playDirect(a, b);
    await new Promise((resolve) => setImmediate(resolve));
    playDirect(a, b); // more events after the failure: dropped
    await log.close();
    assert.deepEqual(errors.map((e) => e.message), ['disk full']);
    assert.equal(log.error?.message, 'disk full');
    assert.equal(a.peer.listenerCount('round'), 1); // only the harness's
  });
});

// ── failures against a scripted student ──────────────────────────────────────

const DH_MODULE = new URL('../../src/testing/dh/index.ts', import.meta.url).href;

/**
 * Runs `body` (an async function body with `dh`, the module under test, in scope) in
 * a worker and resolves with what it returns; a worker stuck in a synchronous loop is
 * terminated after `ms`, so a regression fails instead of hanging the suite.
 */
// The bound only catches an endless loop: a worker loading tsx on a busy machine can take
// well over 10 s, so it is far above that (never a measure of speed).
async function bounded<T>(body: string, ms = 60_000): Promise<T> {
  const source = `
    const { parentPort } = require('node:worker_threads');
    import('tsx/esm/api')
      .then(({ register }) => { register(); return import(${JSON.stringify(DH_MODULE)}); })
      .then(async (dh) => { ${body} })
      .then((value) => parentPort.postMessage({ value }), (error) => parentPort.postMessage({ error: String(error) }));
  `;
  const worker = new Worker(source, { eval: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const reply = await new Promise<{ value?: T; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      timer = setTimeout(() => reject(new Error(`still running after ${ms} ms (endless loop?)`)), ms);
    });
    if (reply.error !== undefined) assert.fail(reply.error);
    return reply.value as T;
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

describe('DH-EXERCISE bad l: refused, never an endless key generation', () => {
  it('a dh1 whose group has l = 1 or l >= bitLength(p): the round fails with the reason', async () => {
    const reasons = await bounded<Array<[string | undefined, string | undefined]>>(`
      const p = dh.jdkGroup(1024).p;
      const out = [];
      for (const l of [1, 1024, 4000]) {
        const peer = new dh.DhReferencePeer({ uco: 'b2' });
        const events = [];
        peer.on('round', (e) => events.push(e));
        peer.receive(JSON.stringify({ cmd: 'pair', uco: 'a1' }));
        const dhpub = dh.encodeDhPublicKey({ p, g: 2n, l, y: 5n }).toString('base64');
        const answer = peer.receive(JSON.stringify({ cmd: 'comm', sub: 'dh1', uco: 'a1', dhpub }));
        if (answer.length !== 0) throw new Error('answered a bad group');
        const fail = events.find((e) => e.event === 'fail');
        out.push([fail?.step, fail?.reason]);
        peer.stop();
      }
      return out;
    `);
    assert.deepEqual(reasons, [
      ['dh1_recv', 'dhpub group has l = 1, outside 2..1023'],
      ['dh1_recv', 'dhpub group has l = 1024, outside 2..1023'],
      ['dh1_recv', 'dhpub group has l = 4000, outside 2..1023'],
    ]);
  });

  it('DhKeyPair.generate caps l into 2..bitLength(p)-1 instead of looping forever', async () => {
    const ys = await bounded<string[]>(`
      const group = dh.jdkGroup(1024);
      return [0, 1, 2, 1023, 1024, 8192].map((l) => {
        const y = dh.DhKeyPair.generate({ ...group, l }).publicKey.y;
        const fault = dh.checkPublicValue(y, group.p);
        if (fault !== undefined) throw new Error(fault);
        return typeof y;
      });
    `);
    assert.deepEqual(ys, Array(6).fill('bigint'));
    assert.throws(() => DhKeyPair.generate({ p: 3n, g: 2n }), /no private value/);
  });
});

/** Reference peer `a1` is the initiator; returns its dh1's key and a student key in that group. */
function asInitiator(bits: DhGroupBits = 1024): Harness & { dh1: DhGroup & { y: bigint }; student: DhKeyPair } {
  const h = harness({ uco: 'a1', bits });
  const [dh1] = h.peer.receive(pair('b2'));
  const msg = parse(dh1);
  assert.equal(msg['sub'], 'dh1');
  const key = parseDhPublicKey(msg['dhpub']);
  assert.ok(key.ok);
  return { ...h, dh1: key.value, student: DhKeyPair.generate(key.value) };
}

/** Reference peer `b2` is the responder, paired with student `a1`. */
function asResponder(): Harness {
  const h = harness({ uco: 'b2' });
  assert.deepEqual(h.peer.receive(pair('a1')), []);
  return h;
}

const ID = connectionIdOf('a1', 'b2');

describe('DH-EXERCISE failures: each reason', () => {
  it('missing dhpub (dh1 and dh2)', () => {
    const r = asResponder();
    r.peer.receive(comm('a1', 'dh1'));
    assert.deepEqual(lastFail(r.events), { ts: TS, event: 'fail', peer: 'b2', student: 'a1', role: 'responder', round: 1, step: 'dh1_recv', reason: 'dh1 carried no dhpub' });
    const i = asInitiator();
    i.peer.receive(comm('b2', 'dh2', { dhpub: null }));
    assert.equal(lastFail(i.events)?.reason, 'dh2 carried no dhpub');
    assert.equal(lastFail(i.events)?.step, 'dh2_recv');
  });

  it('dhpub not base64', () => {
    const r = asResponder();
    r.peer.receive(comm('a1', 'dh1', { dhpub: 'MIIB!!' }));
    assert.equal(lastFail(r.events)?.reason, 'dhpub is not base64');
  });

  it('wrong OID', () => {
    const r = asResponder();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    r.peer.receive(comm('a1', 'dh1', { dhpub: ec.toString('base64') }));
    assert.match(lastFail(r.events)?.reason ?? '', /^dhpub is not a DH SubjectPublicKeyInfo \(OID 1\.2\.840\.113549\.1\.3\.1\)/);
  });

  it('key out of range (y = 1, y = p − 1)', () => {
    const r = asResponder();
    r.peer.receive(comm('a1', 'dh1', { dhpub: encodeDhPublicKey({ ...jdkGroup(1024), y: 1n }).toString('base64') }));
    assert.equal(lastFail(r.events)?.reason, 'dhpub key is out of range: y = 1, must be 1 < y < p−1');
    const i = asInitiator();
    i.peer.receive(comm('b2', 'dh2', { dhpub: encodeDhPublicKey({ ...i.dh1, y: i.dh1.p - 1n }).toString('base64') }));
    assert.equal(lastFail(i.events)?.reason, 'dhpub key is out of range: y = p−1, must be 1 < y < p−1');
  });

  it('wrong group: dh2 not generated with the initiator\'s parameters', () => {
    const i = asInitiator(2048);
    i.peer.receive(comm('b2', 'dh2', { dhpub: DhKeyPair.generate(jdkGroup(1024)).dhpub }));
    assert.equal(lastFail(i.events)?.reason, "dh2 key is not in the initiator's group (different p)");
  });

  it('implausible group in dh1 (p not prime)', () => {
    const r = asResponder();
    const { p } = jdkGroup(1024);
    r.peer.receive(comm('a1', 'dh1', { dhpub: encodeDhPublicKey({ p: p - 2n, g: 2n, y: 5n }).toString('base64') }));
    assert.equal(lastFail(r.events)?.reason, "dhpub group's p is not prime");
  });

  it('bad HMAC (initiator checks the responder; responder checks the initiator)', () => {
    const i = asInitiator();
    i.peer.receive(comm('b2', 'dh2', { dhpub: i.student.dhpub }));
    i.peer.receive(comm('b2', 'dhc', { dhverif: Buffer.alloc(20, 7).toString('base64') }));
    assert.deepEqual(i.events.find((e) => e.event === 'dhc_check')?.ok, false);
    assert.deepEqual(lastFail(i.events)?.step, 'dhc_check');
    assert.equal(lastFail(i.events)?.reason, 'dhverif does not match');

    const r = asResponder();
    const student = DhKeyPair.generate(jdkGroup(1024));
    r.peer.receive(comm('a1', 'dh1', { dhpub: student.dhpub }));
    const out = r.peer.receive(comm('a1', 'dhc', { dhverif: 'AAAA' }));
    assert.deepEqual(out, [], 'no dhc of ours after a bad one');
    assert.match(lastFail(r.events)?.reason ?? '', /^dhverif does not match: 3 bytes/);
  });

  it('secret stripped of its leading zero (student key searched until the secret starts with 0x00)', () => {
    const i = asInitiator(1024);
    const { p } = i.dh1;
    const length = byteLength(p);
    // Student keys x, x+1, x+2, …: each next secret is the previous one times y (mod p).
    const x0 = 1n << 159n;
    let x = x0;
    let s = toBigInt(DhKeyPair.fromPrivate(i.dh1, x0).secretWith(i.dh1.y));
    while (toBytes(s, length)[0] !== 0) {
      s = (s * i.dh1.y) % p;
      x++;
    }
    const student = DhKeyPair.fromPrivate(i.dh1, x);
    const secret = student.secretWith(i.dh1.y);
    assert.equal(secret[0], 0);
    const [dhc] = i.peer.receive(comm('b2', 'dh2', { dhpub: student.dhpub }));
    assert.equal(parse(dhc)['dhverif'], dhverif(secret, ID), 'our own dhverif uses the padded secret');
    i.peer.receive(comm('b2', 'dhc', { dhverif: dhverif(toBytes(toBigInt(secret)), ID) }));
    assert.equal(lastFail(i.events)?.reason, 'dhverif does not match: secret probably stripped of a leading zero');
  });

  it('roles swapped in the HMAC (connection id reversed)', () => {
    const r = asResponder();
    const student = DhKeyPair.generate(jdkGroup(2048));
    const [dh2] = r.peer.receive(comm('a1', 'dh1', { dhpub: student.dhpub }));
    const theirs = parseDhPublicKey(parse(dh2)['dhpub']);
    assert.ok(theirs.ok);
    const secret = student.secretWith(theirs.value.y);
    r.peer.receive(comm('a1', 'dhc', { dhverif: dhverif(secret, 'b2|a1') }));
    assert.equal(lastFail(r.events)?.reason, 'dhverif does not match: roles probably swapped');
  });

  it('roles swapped in the exchange: dh1 sent to the initiator, dh2 sent to the responder', () => {
    const i = asInitiator();
    i.peer.receive(comm('b2', 'dh1', { dhpub: i.student.dhpub }));
    assert.equal(lastFail(i.events)?.reason, 'dh1 sent to the initiator (a1 < b2): roles probably swapped');
    const r = asResponder();
    r.peer.receive(comm('a1', 'dh2', { dhpub: DhKeyPair.generate(jdkGroup(1024)).dhpub }));
    assert.equal(lastFail(r.events)?.reason, 'dh2 sent to the responder (a1 < b2): roles probably swapped');
  });

  it('out of order: dhc before dh2, dhc before dh1, duplicate dh2, duplicate dh1', () => {
    const i = asInitiator();
    i.peer.receive(comm('b2', 'dhc', { dhverif: 'AAAA' }));
    assert.deepEqual([lastFail(i.events)?.step, lastFail(i.events)?.reason], ['dhc_recv', 'dhc before dh2']);

    const r = asResponder();
    r.peer.receive(comm('a1', 'dhc', { dhverif: 'AAAA' }));
    assert.equal(lastFail(r.events)?.reason, 'dhc before dh1');

    const i2 = asInitiator();
    i2.peer.receive(comm('b2', 'dh2', { dhpub: i2.student.dhpub }));
    i2.peer.receive(comm('b2', 'dh2', { dhpub: i2.student.dhpub }));
    assert.equal(lastFail(i2.events)?.reason, 'duplicate dh2');

    const r2 = asResponder();
    const student = DhKeyPair.generate(jdkGroup(1024));
    r2.peer.receive(comm('a1', 'dh1', { dhpub: student.dhpub }));
    r2.peer.receive(comm('a1', 'dh1', { dhpub: student.dhpub }));
    assert.equal(lastFail(r2.events)?.reason, 'duplicate dh1');
  });

  it('timeouts per step (ManualClock)', () => {
    const i = asInitiator();
    i.clock.advance(9_999);
    assert.equal(lastFail(i.events), undefined);
    i.clock.advance(1);
    assert.deepEqual([lastFail(i.events)?.step, lastFail(i.events)?.reason], ['dh2_recv', 'no dh2 within 10000 ms']);

    const r = harness({ uco: 'b2', stepTimeoutMs: 500 });
    r.peer.receive(pair('a1'));
    r.clock.advance(500);
    assert.equal(lastFail(r.events)?.reason, 'no dh1 within 500 ms');

    const i2 = asInitiator();
    i2.peer.receive(comm('b2', 'dh2', { dhpub: i2.student.dhpub }));
    i2.clock.advance(10_000);
    assert.equal(lastFail(i2.events)?.reason, 'no dhc within 10000 ms');
    assert.equal(i2.clock.pendingTimers, 0);
  });

  it('a new pair interrupts the running round, which is recorded as incomplete (not the student\'s fault)', () => {
    const i = asInitiator();
    const out = i.peer.receive(pair('c3'));
    assert.equal(parse(out[0])['sub'], 'dh1');
    assert.equal(lastFail(i.events), undefined);
    const cut = i.events.find((e) => e.event === 'incomplete');
    assert.deepEqual([cut?.round, cut?.step, cut?.reason], [1, 'dh2_recv', 'interrupted by a new pair with c3']);
    assert.deepEqual(i.events.at(-2)?.event, 'pair');
    assert.deepEqual([i.peer.current?.round, i.peer.current?.student], [2, 'c3']);
    i.clock.advance(10_000); // the old round's timer is gone: one timeout only, for round 2
    assert.deepEqual(i.events.filter((e) => e.event === 'fail').map((e) => e.round), [2]);
  });

  it('re-paired with the same student mid-round: its late dhc of the cut round is ignored, not a fault of the new one', () => {
    const i = asInitiator();
    i.peer.receive(pair('b2')); // next epoch, same pair: round 1 incomplete, round 2 sends a new dh1
    assert.deepEqual(i.peer.receive(comm('b2', 'dhc', { dhverif: 'AAAA' })), []);
    assert.deepEqual([i.peer.current?.round, i.peer.current?.status, i.peer.current?.awaiting], [2, 'running', 'dh2']);
    assert.equal(lastFail(i.events), undefined);
    // Once this round has heard from the student, a message out of order is a fault again.
    i.peer.receive(comm('b2', 'dh2', { dhpub: i.student.dhpub }));
    i.peer.receive(comm('b2', 'dh1', { dhpub: i.student.dhpub }));
    assert.equal(lastFail(i.events)?.round, 2);
  });

  it('the server refuses our message (no peer: the student left): incomplete, naming the student', () => {
    const i = asInitiator();
    i.peer.receive(JSON.stringify({ error: 'no peer', msg: { cmd: 'comm', sub: 'dh1' } }));
    assert.equal(lastFail(i.events), undefined);
    const cut = i.events.at(-1);
    assert.deepEqual(
      [cut?.event, cut?.step, cut?.reason],
      ['incomplete', 'dh1_send', 'student b2 left (the server answered no peer to our dh1)'],
    );
    assert.equal(i.peer.current?.status, 'incomplete');
  });

  it('stop() and the server closing our connection end a running round as incomplete, naming who', () => {
    const i = asInitiator();
    i.peer.stop();
    assert.deepEqual([i.events.at(-1)?.event, i.events.at(-1)?.reason], ['incomplete', 'the reference peer stopped']);
    const j = asInitiator();
    j.peer.receive('{"exit":true,"reason":"server shutdown"}');
    assert.deepEqual(
      [j.events.at(-1)?.event, j.events.at(-1)?.step, j.events.at(-1)?.reason],
      ['incomplete', 'dh2_recv', "the server closed the reference peer's connection (server shutdown)"],
    );
    assert.equal(j.clock.pendingTimers, 0);
  });

  it('ignores noise: non-JSON lines, other subs, messages outside a round', () => {
    const { peer, events } = harness({ uco: 'a1' });
    assert.deepEqual(peer.receive('not json'), []);
    assert.deepEqual(peer.receive(comm('b2', 'dh2', { dhpub: 'x' })), []);
    assert.deepEqual(peer.receive('{"ack":"1"}'), []);
    assert.deepEqual(events, []);
    peer.receive(pair('b2'));
    assert.deepEqual(peer.receive(comm('b2', 'chat', { text: 'hi' })), []);
    assert.equal(peer.current?.status, 'running');
  });
});
