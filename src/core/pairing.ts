/**
 * The pairing scheduler (PROTOCOL §6): epochs every `epochMs`, free clients paired
 * within `pairDelayMs` between epochs, random through the injected {@link Random}.
 *
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';
import type { Connection } from './connection.js';
import type { PairKind, UnpairReason } from './events.js';
import { shuffle, type Random } from './random.js';

/** What the scheduler asks of the core. */
export interface PairingHost {
  /** Every registered connection, for an epoch. */
  registeredConnections(): Iterable<Connection>;
  /** PROTOCOL §5: whether `conn` may be chosen for pairing (open, and not dead). */
  isLive(conn: Connection): boolean;
  /** `a` and `b` were paired: tell both. Either may close while being told. */
  onPaired(a: Connection, b: Connection, kind: PairKind): void;
  /** The pair `a`–`b` ended for `reason`. */
  onUnpaired(a: Connection, b: Connection, reason: UnpairReason): void;
  /** An epoch began with `clients` live clients and `pairs` pairs. */
  onEpoch(epoch: number, clients: number, pairs: number): void;
}

/** Timing of the scheduler. */
export interface PairingTiming {
  /** Epoch length, ms. */
  epochMs: number;
  /** Longest wait of a free client for a free peer, ms. */
  pairDelayMs: number;
}

/** Holds the pairs and the free clients, and runs the epoch and pairing timers. */
export class PairingScheduler {
  /** Current epoch number (0 before the first boundary). */
  epoch = 0;
  /** Registered clients without a peer, in registration order. */
  readonly free = new Set<Connection>();
  private pairs = 0;
  private epochTimer: TimerHandle | undefined;
  private freeTimer: TimerHandle | undefined;
  private nextEpochAt = 0;

  constructor(
    private readonly host: PairingHost,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly timing: PairingTiming,
  ) {}

  /** Number of current pairs. */
  get pairCount(): number {
    return this.pairs;
  }

  /** Starts the epoch timer. */
  start(): void {
    this.nextEpochAt = this.clock.now() + this.timing.epochMs;
    this.epochTimer = this.clock.setTimeout(() => this.onEpochTimer(), this.timing.epochMs);
    this.scheduleFreePairing();
  }

  /** Cancels every timer. */
  stop(): void {
    if (this.epochTimer !== undefined) this.clock.clearTimeout(this.epochTimer);
    if (this.freeTimer !== undefined) this.clock.clearTimeout(this.freeTimer);
    this.epochTimer = undefined;
    this.freeTimer = undefined;
  }

  /** Whether the scheduler's timers run. */
  get running(): boolean {
    return this.epochTimer !== undefined;
  }

  /** A client registered: it is free, and will be paired within `pairDelayMs`. */
  join(conn: Connection): void {
    this.free.add(conn);
    this.scheduleFreePairing();
  }

  /**
   * A client leaves (PROTOCOL §6 "when a client leaves"): its pair is dissolved and
   * its peer becomes free; no message is sent.
   */
  leave(conn: Connection, reason: UnpairReason): void {
    this.free.delete(conn);
    const peer = conn.peer;
    if (peer === undefined) return;
    conn.peer = undefined;
    peer.peer = undefined;
    this.pairs--;
    this.host.onUnpaired(conn, peer, reason);
    if (peer.state === 'open' && peer.uco !== undefined) this.join(peer);
  }

  /**
   * PROTOCOL §6 epoch: dissolve every pair, then pair every live client at random,
   * avoiding the previous peer when another choice exists. O(n).
   */
  runEpoch(): void {
    this.epoch++;
    const registered = [...this.host.registeredConnections()];
    for (const conn of registered) conn.previousPeer = conn.peer;
    for (const conn of registered) {
      const peer = conn.peer;
      if (peer !== undefined && conn.id < peer.id) {
        conn.peer = undefined;
        peer.peer = undefined;
        this.host.onUnpaired(conn, peer, 'epoch');
      }
    }
    this.pairs = 0;
    this.free.clear();
    // PROTOCOL §5: a dead client is never chosen, even when its deadline is this instant.
    const clients = registered.filter((conn) => this.host.isLive(conn));
    shuffle(clients, this.random);
    avoidRepeats(clients);
    const formed: Array<[Connection, Connection]> = [];
    for (let i = 0; i + 1 < clients.length; i += 2) {
      const a = clients[i] as Connection;
      const b = clients[i + 1] as Connection;
      this.link(a, b);
      formed.push([a, b]);
    }
    if (clients.length % 2 === 1) this.free.add(clients[clients.length - 1] as Connection);
    if (this.freeTimer !== undefined) {
      this.clock.clearTimeout(this.freeTimer);
      this.freeTimer = undefined;
    }
    this.host.onEpoch(this.epoch, clients.length, formed.length);
    for (const [a, b] of formed) {
      if (a.peer === b) this.host.onPaired(a, b, 'epoch');
    }
  }

  /**
   * Pairs `a` with `b` now, whatever chance would choose: each leaves its current pair
   * (reason `repaired`; the other sides become free and are paired as usual).
   */
  pairChosen(a: Connection, b: Connection): void {
    if (a.peer === b) return;
    this.leave(a, 'repaired');
    this.leave(b, 'repaired');
    this.link(a, b);
    this.host.onPaired(a, b, 'chosen');
  }

  /** Pairs the free clients now, at random (the `pairDelayMs` timer calls this). */
  pairFree(): void {
    if (this.freeTimer !== undefined) {
      this.clock.clearTimeout(this.freeTimer);
      this.freeTimer = undefined;
    }
    if (this.free.size < 2) return;
    // PROTOCOL §5: a dead client stays free until its deadline timer closes it.
    const clients = shuffle(
      [...this.free].filter((conn) => this.host.isLive(conn)),
      this.random,
    );
    const formed: Array<[Connection, Connection]> = [];
    for (let i = 0; i + 1 < clients.length; i += 2) {
      const a = clients[i] as Connection;
      const b = clients[i + 1] as Connection;
      this.free.delete(a);
      this.free.delete(b);
      this.link(a, b);
      formed.push([a, b]);
    }
    for (const [a, b] of formed) {
      if (a.peer === b) this.host.onPaired(a, b, 'immediate');
    }
  }

  private link(a: Connection, b: Connection): void {
    a.peer = b;
    b.peer = a;
    this.pairs++;
  }

  private scheduleFreePairing(): void {
    if (this.freeTimer !== undefined || this.free.size < 2 || !this.running) return;
    this.freeTimer = this.clock.setTimeout(() => {
      this.freeTimer = undefined;
      this.pairFree();
    }, this.timing.pairDelayMs);
  }

  private onEpochTimer(): void {
    this.nextEpochAt += this.timing.epochMs;
    this.epochTimer = this.clock.setTimeout(
      () => this.onEpochTimer(),
      Math.max(0, this.nextEpochAt - this.clock.now()),
    );
    this.runEpoch();
  }
}

/**
 * Reorders a shuffled list so that no consecutive pair (0-1, 2-3, ...) repeats a
 * previous pair, when any other choice exists. Previous pairs form a matching, so
 * swapping partners with a neighbouring pair (or with the odd one out) always
 * removes the repeat without creating another: one pass, O(n).
 */
function avoidRepeats(list: Connection[]): void {
  const pairCount = Math.floor(list.length / 2);
  for (let k = 0; k < pairCount; k++) {
    const a = list[2 * k] as Connection;
    const b = list[2 * k + 1] as Connection;
    if (a.previousPeer !== b) continue;
    let other: number;
    if (k + 1 < pairCount) other = 2 * k + 3;
    else if (k > 0) other = 2 * k - 1;
    else if (list.length === 3) other = 2;
    else continue; // exactly two clients: no other choice
    list[2 * k + 1] = list[other] as Connection;
    list[other] = b;
  }
}
