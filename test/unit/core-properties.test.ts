/**
 * Property tests: random sequences of client actions and time over a few in-memory
 * connections, with the core's invariants (PROTOCOL §1–7) checked after every step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock, MemoryConnection, RouletteCore, seededRandom } from '../../src/index.js';
import { inspectCore, type ConnectionView } from '../../src/testing/index.js';

const OPTIONS = {
  epochMs: 5000,
  pingIntervalMs: 1000,
  deadAfterMs: 3000,
  registerTimeoutMs: 3000,
  pairDelayMs: 100,
  maxLineBytes: 256,
  maxBufferedBytes: 1_000_000,
} as const;

/** Ucos that sanitise to a few values, so takeovers and re-registrations happen. */
const UCOS: readonly unknown[] = ['a', 'b', 'c', 'd', 'a!', 'B', 7, '7', '-'];

const GARBAGE: readonly string[] = [
  '',
  '  \t',
  'not json',
  '[1,2]',
  'null',
  '{"cmd":"bogus"}',
  '{"uco":"a"}',
  '{"cmd":"comm","uco":"zz"}',
  '{"cmd":"connect","uco":true}',
  '{"cmd":"exit","uco":"b"}',
  `{"cmd":"comm","pad":"${'x'.repeat(300)}"}`,
];

/** Mostly short steps (so clients live long enough to pair), some crossing pings, deadlines, epochs. */
const SHORT_ADVANCES = [0, 1, 50, 99, 100, 101, 500, 900, 1000];
const LONG_ADVANCES = [1999, 2000, 2999, 3000, 4999, 5000, 12_000];

type Action =
  | { kind: 'connect'; slot: number; uco: number; nonce: number }
  | { kind: 'comm'; slot: number; withUco: boolean }
  | { kind: 'pong'; slot: number }
  | { kind: 'pongAll' }
  | { kind: 'exit'; slot: number }
  | { kind: 'end'; slot: number }
  | { kind: 'fail'; slot: number }
  | { kind: 'reopen'; slot: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'garbage'; slot: number; line: number; raw: boolean }
  | { kind: 'partial'; slot: number }
  | { kind: 'buffered'; slot: number; bytes: number }
  | { kind: 'drained'; slot: number }
  | { kind: 'epoch' };

function actions(slots: number): fc.Arbitrary<Action> {
  const slot = fc.nat(slots - 1);
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('connect' as const), slot, uco: fc.nat(UCOS.length - 1), nonce: fc.nat(99) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('comm' as const), slot, withUco: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('pong' as const), slot }) },
    { weight: 3, arbitrary: fc.constant({ kind: 'pongAll' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), slot }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), slot }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), slot }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('reopen' as const), slot }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(...SHORT_ADVANCES) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(...LONG_ADVANCES) }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('garbage' as const), slot, line: fc.nat(GARBAGE.length - 1), raw: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('partial' as const), slot }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('buffered' as const), slot, bytes: fc.constantFrom(0, 70_000, 2_000_000) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drained' as const), slot }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'epoch' as const }) },
  );
}

const isExit = (line: string) => line.startsWith('{"exit":true,');

class World {
  readonly clock = new ManualClock();
  readonly core: RouletteCore;
  readonly slots: MemoryConnection[];
  readonly all: MemoryConnection[] = [];
  readonly violations: string[] = [];

  constructor(slotCount: number, seed: number, strict: boolean) {
    this.core = new RouletteCore({ ...OPTIONS, strict, clock: this.clock, random: seededRandom(seed) });
    this.core.on('paired', ({ a, b }) => this.checkPaired(a, b));
    this.core.on('epochStarted', (e) => this.checkEpoch(e.clients, e.pairs));
    this.core.start();
    this.slots = Array.from({ length: slotCount }, () => this.open());
  }

  open(): MemoryConnection {
    const conn = new MemoryConnection(this.core);
    this.all.push(conn);
    return conn;
  }

  conn(slot: number): MemoryConnection {
    return this.slots[slot] as MemoryConnection;
  }

  internal(conn: MemoryConnection): ConnectionView | undefined {
    return inspectCore(this.core).connections.find((c) => c.id === conn.handle.id);
  }

  run(action: Action): void {
    switch (action.kind) {
      case 'connect':
        // A client whose connection closed connects again on a new one.
        if (this.conn(action.slot).isClosed) this.slots[action.slot] = this.open();
        this.conn(action.slot).send({ cmd: 'connect', uco: UCOS[action.uco], nonce: action.nonce });
        break;
      case 'comm':
        this.comm(action.slot, action.withUco);
        break;
      case 'pong':
        this.conn(action.slot).send({ cmd: 'pong' });
        break;
      case 'pongAll':
        for (const conn of this.slots) conn.send('{"cmd":"pong"}');
        break;
      case 'exit':
        this.conn(action.slot).send({ cmd: 'exit' });
        break;
      case 'end':
        this.conn(action.slot).end();
        break;
      case 'fail':
        this.conn(action.slot).fail();
        break;
      case 'reopen':
        if (this.conn(action.slot).isClosed) this.slots[action.slot] = this.open();
        break;
      case 'advance':
        this.clock.advance(action.ms);
        break;
      case 'garbage': {
        const line = GARBAGE[action.line] as string;
        if (action.raw) this.conn(action.slot).write(`${line}\r\n`);
        else this.conn(action.slot).send(line);
        break;
      }
      case 'partial':
        this.conn(action.slot).write('{"cmd":"po');
        break;
      case 'buffered':
        this.conn(action.slot).buffered = action.bytes;
        break;
      case 'drained':
        this.conn(action.slot).buffered = 0;
        this.conn(action.slot).handle.drained();
        break;
      case 'epoch':
        this.core.nextEpoch();
        break;
    }
  }

  /** comm, and what PROTOCOL §3 says its outcome is. */
  private comm(slot: number, withUco: boolean): void {
    const sender = this.conn(slot);
    const me = this.internal(sender);
    const peer = me?.peerId;
    const peerConn = this.all.find((c) => peer !== undefined && c.handle.id === peer);
    const text = `{"cmd":"comm", "n":${this.clock.now()}${withUco && me?.uco !== undefined ? `,"uco":"${me.uco}"` : ''}}`;
    const sentBefore = sender.lines.length;
    // Read before sending: a slow consumer's buffered output is discarded when it is cut.
    const slowPeer = peerConn !== undefined && peerConn.buffered > OPTIONS.maxBufferedBytes;
    // A half-written line (`partial`) would swallow this one: complete it first.
    sender.write('\n');
    const before = sender.lines.length;
    sender.send(text);
    // `me` is a snapshot from before the line: read the connection's state after it.
    if (me === undefined || this.internal(sender)?.state !== 'open' || sentBefore !== before) return;
    const replies = sender.lines.slice(before);
    if (me.uco === undefined) {
      assert.deepEqual(replies, [`{"error":"not registered","msg":${JSON.stringify(JSON.parse(text))}}`]);
    } else if (peerConn === undefined) {
      assert.deepEqual(replies, [`{"error":"no peer","msg":${JSON.stringify(JSON.parse(text))}}`]);
    } else {
      assert.deepEqual(replies, []);
      const expected = slowPeer ? '{"exit":true,"reason":"slow consumer"}' : text;
      assert.equal(peerConn.lines.at(-1), expected);
    }
  }

  private checkPaired(a: string, b: string): void {
    for (const [uco, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const conn = inspectCore(this.core).clients.find((c) => c.uco === uco);
      if (conn === undefined || conn.state !== 'open') this.violations.push(`paired ${uco}, not registered and open`);
      else if (!conn.alive) this.violations.push(`paired ${uco}, dead`);
      else if (conn.peer !== other) this.violations.push(`paired ${uco} with ${other}, but its peer is ${conn.peer}`);
    }
  }

  /** PROTOCOL §6: after an epoch every live client is paired, but at most one. */
  private checkEpoch(clients: number, pairs: number): void {
    let live = 0;
    let free = 0;
    for (const conn of inspectCore(this.core).clients) {
      if (!conn.alive) continue;
      live++;
      if (conn.peer === undefined) free++;
    }
    if (live !== clients || pairs !== Math.floor(live / 2) || free > 1) {
      this.violations.push(`epoch: ${live} live, ${free} free; event says ${clients} clients, ${pairs} pairs`);
    }
  }

  checkInvariants(): void {
    assert.deepEqual(this.violations, []);
    const view = inspectCore(this.core);
    const byId = new Map(view.connections.map((c) => [c.id, c]));
    const byUco = new Map(view.clients.map((c) => [c.uco as string, c]));
    const now = this.clock.now();
    let paired = 0;
    assert.equal(byUco.size, view.clients.length, 'one registration per uco');
    for (const [uco, conn] of byUco) {
      assert.equal(conn.state, 'open', `${uco} registered but not open`);
      assert.deepEqual(byId.get(conn.id), conn);
      // PROTOCOL §5: nobody stays registered past its deadline.
      const seen = conn.lastSeen;
      assert.ok(seen !== undefined && now - seen < OPTIONS.deadAfterMs, `${uco} overdue`);
      if (conn.peerId === undefined) {
        assert.ok(conn.waiting, `${uco} is unpaired but not free: it would never be paired again`);
        continue;
      }
      paired++;
      const peer = byId.get(conn.peerId) as ConnectionView;
      assert.notEqual(peer.id, conn.id);
      assert.equal(peer.peerId, conn.id, 'pairs are symmetric');
      assert.equal(peer.state, 'open');
      assert.equal(byUco.get(peer.uco as string)?.id, peer.id, 'a peer is registered');
      assert.ok(!conn.waiting);
      // The client was told who its peer is, and that is the last pair message it got.
      const mem = this.all.find((c) => c.handle.id === conn.id) as MemoryConnection;
      assert.equal(mem.lines.findLast((l) => l.startsWith('{"cmd":"pair"')), `{"cmd":"pair","uco":"${peer.uco}"}`);
    }
    assert.equal(paired % 2, 0);
    assert.equal(view.pairs, paired / 2);
    assert.equal(view.waiting, view.connections.filter((c) => c.waiting).length, 'every free client is an open connection');
    for (const conn of view.connections) if (conn.waiting) assert.ok(byUco.get(conn.uco as string)?.id === conn.id && conn.peer === undefined);
    for (const conn of view.connections) {
      assert.equal(conn.state, 'open');
      if (conn.uco === undefined) assert.ok(now - conn.openedAt < OPTIONS.registerTimeoutMs, 'register timeout overdue');
    }
    const stats = this.core.stats();
    assert.equal(stats.clients, view.clients.length);
    assert.equal(stats.connections, view.connections.length);
    assert.equal(stats.pairs, view.pairs);
    assert.equal(view.deadlines, view.connections.length, 'every open connection, and only those, has a deadline');
    for (const mem of this.all) {
      const conn = this.internal(mem);
      assert.equal(conn === undefined, mem.isClosed, 'the registry holds exactly the open connections');
      // Nothing is written after an exit line.
      const exitAt = mem.lines.findIndex(isExit);
      if (exitAt !== -1) assert.equal(exitAt, mem.lines.length - 1, `written after exit: ${mem.lines.slice(exitAt).join(' ')}`);
      if (mem.closedBy === 'server' || mem.closedBy === 'server-destroy') assert.notEqual(exitAt, -1, 'closed without exit');
      if (exitAt !== -1) assert.notEqual(mem.closedBy, undefined, 'exit without close');
    }
  }

  /** PROTOCOL §7. */
  stopAndCheck(): void {
    const openBefore = this.all.filter((c) => !c.isClosed);
    this.core.stop();
    assert.equal(this.clock.pendingTimers, 0);
    for (const conn of openBefore) {
      assert.equal(conn.lines.at(-1), '{"exit":true,"reason":"server shutdown"}');
      assert.equal(conn.closedBy, 'server');
    }
    this.checkInvariants();
    assert.equal(inspectCore(this.core).connections.length, 0);
  }
}

test('core properties: invariants hold after every step of random client actions and time', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 8 }).chain((slots) =>
        fc.record({
          slots: fc.constant(slots),
          seed: fc.nat(),
          strict: fc.boolean(),
          steps: fc.array(actions(slots), { minLength: 1, maxLength: 80, size: 'max' }),
        }),
      ),
      ({ slots, seed, strict, steps }) => {
        const world = new World(slots, seed, strict);
        world.checkInvariants();
        for (const step of steps) {
          world.run(step);
          world.checkInvariants();
        }
        world.stopAndCheck();
      },
    ),
    { numRuns: 200 },
  );
});

test('core properties: with every client answering pings, each epoch pairs all of them but at most one, never repeating a peer when avoidable', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 9 }), fc.nat(), fc.integer({ min: 1, max: 6 }), (clients, seed, epochs) => {
      const clock = new ManualClock();
      const core = new RouletteCore({ ...OPTIONS, clock, random: seededRandom(seed) });
      core.start();
      const conns = Array.from({ length: clients }, (_, i) => {
        const conn = new MemoryConnection(core);
        conn.send({ cmd: 'connect', uco: `u${i}` });
        return conn;
      });
      let previous = new Map<string, string | undefined>();
      for (let e = 1; e <= epochs; e++) {
        for (let t = 0; t < OPTIONS.epochMs / 1000; t++) {
          clock.advance(1000);
          for (const conn of conns) conn.send({ cmd: 'pong' });
        }
        assert.equal(core.epoch, e);
        const now = new Map(core.clients().map((c) => [c.uco, c.peer]));
        assert.equal(now.size, clients);
        assert.equal([...now.values()].filter((p) => p === undefined).length, clients % 2);
        if (clients > 2) {
          for (const [uco, peer] of now) if (peer !== undefined) assert.notEqual(peer, previous.get(uco));
        }
        previous = now;
      }
      core.stop();
      assert.equal(clock.pendingTimers, 0);
    }),
    { numRuns: 100 },
  );
});
