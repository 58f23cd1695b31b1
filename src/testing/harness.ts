/**
 * The in-process test harness: a {@link RouletteCore} on a {@link ManualClock}, with
 * helpers to attach clients (in-memory or over a stream), move time, pair two
 * chosen clients and read back what each client sent and received. No network, no
 * real waiting.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import { ManualClock } from '../core/clock.js';
import { RouletteCore } from '../core/core.js';
import { RouletteError } from '../core/errors.js';
import type { RouletteOptions } from '../core/options.js';
import { seededRandom } from '../core/random.js';
import type { TrafficEvent } from '../core/events.js';
import { connectInProcess, type InProcessOptions } from '../transports/in-process.js';
import { MemoryConnection, type MemoryConnectionOptions } from '../transports/memory.js';

/** Options of {@link createHarness}. */
export interface HarnessOptions {
  /**
   * Options of the core. The harness supplies the clock and the randomness.
   * @defaultValue `{}` (the defaults of PROTOCOL §8)
   */
  core?: Omit<RouletteOptions, 'clock' | 'random'>;
  /**
   * Seed of the pairing randomness: the same seed gives the same pairings.
   * @defaultValue `"harness"`
   */
  seed?: string | number;
  /**
   * Initial value of the clock, in ms.
   * @defaultValue 0
   */
  startTime?: number;
  /**
   * Whether the core is started at once. `false` leaves it stopped, to test what
   * happens before {@link RouletteCore.start}; call `harness.core.start()` then.
   * @defaultValue true
   */
  start?: boolean;
  /**
   * Most event-loop turns {@link Harness.settle} waits for the clients to go quiet.
   * @defaultValue 10000
   */
  maxSettleTurns?: number;
}

/** Options of {@link Harness.connectStream}: those of `connectInProcess`. */
export type StreamClientOptions = InProcessOptions;

/** One line of a {@link Harness.transcript}. */
export interface TranscriptEntry {
  /** `sent` by the client to the server, or `received` by the client from the server. */
  direction: 'sent' | 'received';
  /**
   * The line without its terminator (nor a trailing `"\r"`). A sent line longer than
   * `maxLineBytes` is not kept: its entry has `line: ""` and `tooLong: true`.
   */
  line: string;
  /** Set on a sent line that was longer than `maxLineBytes`. */
  tooLong?: true;
  /** The connection (as numbered by the core) the line went through. */
  connectionId: number;
  /**
   * The uco the connection was registered under when the line passed; lines before
   * its first registration (the `connect` line, the ack) carry the uco it registered.
   * `undefined` for a connection that never registered.
   */
  uco: string | undefined;
  /** Clock time, in ms. */
  at: number;
}

/** Event-loop turns without any traffic after which {@link Harness.settle} returns. */
const QUIET_TURNS = 3;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A running {@link RouletteCore} on a {@link ManualClock}, with its clients. Create
 * one with {@link createHarness}; always {@link Harness.close} it.
 *
 * Two kinds of clients:
 * - {@link Harness.connect}: a {@link MemoryConnection}, fully synchronous — when
 *   `send` returns, the replies are there.
 * - {@link Harness.connectStream}: a `Duplex` like a `net.Socket`, for client code
 *   written against sockets. Streams deliver asynchronously even in-process: `await
 *   harness.settle()` after acting, and move time with {@link Harness.advanceAndSettle}
 *   so that such clients answer pings in time.
 *
 * @example
 * ```ts
 * import { createHarness } from 'chat-roulette/testing';
 *
 * const harness = createHarness();
 * const alice = harness.connect();
 * const bob = harness.connect();
 * alice.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
 * bob.send({ cmd: 'connect', uco: 'bob', nonce: 1 });
 * harness.pair('alice', 'bob');
 * alice.send({ cmd: 'comm', text: 'hi' });
 * bob.last(); // { cmd: 'comm', text: 'hi' }
 * await harness.close();
 * ```
 */
export class Harness {
  /** The clock: only {@link Harness.advance} and its kin move it. */
  readonly clock: ManualClock;
  /** The core, started (unless {@link HarnessOptions.start} said otherwise). */
  readonly core: RouletteCore;
  private readonly maxSettleTurns: number;
  private readonly entries: TranscriptEntry[] = [];
  /** Connection id → the uco it is registered under now. */
  private readonly ucoOf = new Map<number, string>();
  /** Connection id → its entries recorded before it registered. */
  private readonly unattributed = new Map<number, TranscriptEntry[]>();
  private readonly streams = new Set<Duplex>();
  /** Bumped on every line in or out: {@link Harness.settle} waits until it stops moving. */
  private activity = 0;
  private closed = false;

  /** Prefer {@link createHarness}. */
  constructor(options: HarnessOptions = {}) {
    this.clock = new ManualClock(options.startTime ?? 0);
    this.maxSettleTurns = options.maxSettleTurns ?? 10_000;
    this.core = new RouletteCore({ ...options.core, clock: this.clock, random: seededRandom(options.seed ?? 'harness') });
    this.core.on('traffic', (event) => this.record(event));
    this.core.on('registered', ({ connectionId, uco }) => this.noteUco(connectionId, uco));
    this.core.on('unregistered', ({ connectionId }) => this.ucoOf.delete(connectionId));
    if (options.start ?? true) this.core.start();
  }

  /**
   * Attaches an in-memory client: synchronous, ideal for the "other side" of a test.
   *
   * @example
   * ```ts
   * const bob = harness.connect();
   * bob.send({ cmd: 'connect', uco: 'bob', nonce: 1 });
   * bob.take(); // [{ ack: '1' }]
   * ```
   */
  connect(options?: MemoryConnectionOptions): MemoryConnection {
    this.assertOpen('connect');
    return new MemoryConnection(this.core, options);
  }

  /**
   * Attaches a stream client: the client's end of an in-memory duplex pair whose other
   * end the core serves as it would a TCP socket. Hand it to code that expects a
   * `net.Socket`, then `await harness.settle()` to let the bytes flow.
   *
   * @example
   * ```ts
   * const socket = harness.connectStream();
   * socket.write('{"cmd":"connect","uco":"alice","nonce":1}\n');
   * await harness.settle();
   * harness.transcript('alice'); // the connect line, then {"ack":"1"}
   * ```
   */
  connectStream(options?: StreamClientOptions): Duplex {
    this.assertOpen('connectStream');
    const stream = connectInProcess(this.core, options);
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  /**
   * Moves the clock forward by `ms` at once, firing the due timers (pings, epochs,
   * pairing, deadlines) synchronously. Enough for in-memory clients; stream clients
   * only see the effects after {@link Harness.settle}, and cannot answer pings in
   * between — use {@link Harness.advanceAndSettle} for them.
   */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /**
   * Moves the clock forward by `ms` like a live server: fires each timer when it is
   * due and settles the clients' I/O after each one, so that stream clients answer
   * pings before the next timer looks at them.
   *
   * @example
   * ```ts
   * await harness.advanceAndSettle(10_000); // ten pings, each answered in time
   * ```
   */
  async advanceAndSettle(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RouletteError('ERR_INVALID_ARGUMENT', `advanceAndSettle() needs a non-negative number of ms, got ${ms}`);
    const target = this.clock.now() + ms;
    await this.settle();
    for (;;) {
      const next = this.clock.nextTimerAt();
      if (next === undefined || next > target) break;
      this.clock.advance(next - this.clock.now());
      await this.settle();
    }
    this.clock.advance(target - this.clock.now());
  }

  /** Starts a new pairing epoch now (PROTOCOL §6), with the harness's seeded randomness. */
  nextEpoch(): void {
    this.core.nextEpoch();
  }

  /**
   * Pairs two registered clients now, whatever the scheduler would have chosen:
   * each is unpaired from its current peer (those peers become free), then
   * `{"cmd":"pair"}` is sent to `ucoA` first, then to `ucoB`. Other free clients
   * stay free and are paired by the scheduler as usual. Clients already paired
   * together are left as they are (nothing is sent). The next epoch pairs at random
   * again.
   *
   * @throws `RouletteError` with code `ERR_UNKNOWN_CLIENT` when either uco is not
   *   registered or is dead (PROTOCOL §5), `ERR_INVALID_ARGUMENT` when both are the same.
   *
   * @example
   * ```ts
   * harness.pair('409123', 'refpeer');
   * await harness.settle(); // for stream clients: let them read their `pair`
   * ```
   */
  pair(ucoA: string, ucoB: string): void {
    this.assertOpen('pair');
    this.core.pair(ucoA, ucoB);
  }

  /**
   * Every line the client registered as `uco` sent and received, in order, from the
   * connection's opening (its `connect` line included) while it held `uco`. When
   * several connections registered `uco` (a takeover, a reconnect), their lines are
   * merged in time order. A connection that re-registers under another uco leaves this
   * transcript from there on (the re-registering `connect` line still counts here).
   * Lines are recorded at the server's boundary: a stream client may not have read
   * the last `received` lines yet — {@link Harness.settle} first.
   *
   * @example
   * ```ts
   * harness.transcript('alice').map((e) => `${e.direction === 'sent' ? '>' : '<'} ${e.line}`);
   * // ['> {"cmd":"connect","uco":"alice","nonce":1}', '< {"ack":"1"}']
   * ```
   */
  transcript(uco: string): TranscriptEntry[] {
    return this.entries.filter((entry) => entry.uco === uco);
  }

  /**
   * Lets the stream clients' pending I/O run until nothing moves any more: waits
   * event-loop turns (`setImmediate`, never the clock) until no line went in or out
   * for a few turns. Timers due at the current clock time fire on the way; time does
   * not move.
   *
   * A client loop that never yields to the event loop (only `process.nextTick` or
   * promise callbacks, forever) cannot be interrupted by anyone, `settle` included.
   *
   * @throws `RouletteError` `ERR_NOT_SETTLED` when traffic is still flowing after `maxSettleTurns` turns (two
   *   clients answering each other forever, for instance).
   *
   * @example
   * ```ts
   * const socket = harness.connectStream();
   * socket.write('{"cmd":"connect","uco":"alice","nonce":1}\n');
   * await harness.settle(); // the ack has reached the client
   * ```
   */
  async settle(): Promise<void> {
    let quiet = 0;
    for (let turn = 0; turn < this.maxSettleTurns; turn++) {
      const before = this.activity;
      this.clock.flush();
      await nextTurn();
      quiet = this.activity === before ? quiet + 1 : 0;
      if (quiet >= QUIET_TURNS) return;
    }
    throw new RouletteError('ERR_NOT_SETTLED', `harness.settle(): clients still busy after ${this.maxSettleTurns} event-loop turns`);
  }

  /**
   * Stops the core (every client gets `{"exit":true,"reason":"server shutdown"}`),
   * lets the streams flush and close, and destroys those that do not. Afterwards no
   * timer is left on the clock. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.core.stop();
    await this.settle();
    for (const stream of this.streams) stream.destroy();
    await this.settle();
  }

  /** Every line in or out, from the core's `traffic` event. */
  private record(event: TrafficEvent): void {
    this.activity++;
    const entry: TranscriptEntry = {
      direction: event.direction === 'in' ? 'sent' : 'received',
      line: event.line,
      connectionId: event.connectionId,
      uco: this.ucoOf.get(event.connectionId),
      at: this.clock.now(),
    };
    if (event.tooLong === true) entry.tooLong = true;
    this.entries.push(entry);
    if (entry.uco === undefined) {
      const waiting = this.unattributed.get(entry.connectionId);
      if (waiting === undefined) this.unattributed.set(entry.connectionId, [entry]);
      else waiting.push(entry);
    }
  }

  /** A connection registered `uco`: its lines from now, and those not yet attributed, are `uco`'s. */
  private noteUco(connectionId: number, uco: string): void {
    this.ucoOf.set(connectionId, uco);
    for (const entry of this.unattributed.get(connectionId) ?? []) entry.uco = uco;
    this.unattributed.delete(connectionId);
  }

  private assertOpen(method: string): void {
    if (this.closed) throw new RouletteError('ERR_INVALID_STATE', `harness.${method}(): the harness is closed`);
  }
}

/**
 * Creates a {@link Harness}: a started {@link RouletteCore} on a {@link ManualClock}
 * (time 0) with seeded pairing. Close it at the end of the test.
 *
 * @example With node:test
 * ```ts
 * import { test } from 'node:test';
 * import assert from 'node:assert/strict';
 * import { createHarness } from 'chat-roulette/testing';
 *
 * test('the server acknowledges connect', async (t) => {
 *   const harness = createHarness({ core: { epochMs: 60_000 } });
 *   t.after(() => harness.close());
 *   const alice = harness.connect();
 *   alice.send({ cmd: 'connect', uco: 'alice', nonce: 7 });
 *   assert.deepEqual(alice.take(), [{ ack: '7' }]);
 * });
 * ```
 */
export function createHarness(options?: HarnessOptions): Harness {
  return new Harness(options);
}
