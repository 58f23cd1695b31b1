/**
 * The default matchmaker: registry and pairing inside this process (PROTOCOL §3, §6).
 * Every decision is synchronous; timers go through the core's clock and randomness
 * through its `random`, so a seed reproduces the pairings.
 *
 * @module
 */
import type { TimerHandle } from '../clock.js';
import type { LeaveReason, PairKind, UnpairReason } from '../events.js';
import { shuffle } from '../random.js';
import { consecutivePairs, planEpoch } from './plan.js';
import type { Matchmaker, MatchmakerContext, MatchmakerCounts, RegisterVerdict, Seat } from './types.js';

/**
 * The matchmaker a core uses unless told otherwise: one process, one registry.
 *
 * @example The default, spelled out
 * ```ts
 * const core = new RouletteCore({ cluster: localMatchmaker });
 * ```
 */
export function localMatchmaker(context: MatchmakerContext): Matchmaker {
  return new LocalMatchmaker(context);
}

/** The peer of `seat` when it is a seat of this process (a local matchmaker only has those). */
function localPeer(seat: Seat): Seat | undefined {
  return seat.peer as Seat | undefined;
}

class LocalMatchmaker implements Matchmaker {
  /** Registered seats by uco, in registration order. */
  private readonly clients = new Map<string, Seat>();
  /** Registered seats without a peer, in the order they became free. */
  private readonly free = new Set<Seat>();
  private pairs = 0;
  private epoch = 0;
  private epochTimer: TimerHandle | undefined;
  private freeTimer: TimerHandle | undefined;
  private nextEpochAt = 0;

  constructor(private readonly context: MatchmakerContext) {}

  start(): void {
    const { clock, options } = this.context;
    this.nextEpochAt = clock.now() + options.epochMs;
    this.epochTimer = clock.setTimeout(() => this.onEpochTimer(), options.epochMs);
    this.scheduleFreePairing();
  }

  stop(): void {
    const { clock } = this.context;
    if (this.epochTimer !== undefined) clock.clearTimeout(this.epochTimer);
    if (this.freeTimer !== undefined) clock.clearTimeout(this.freeTimer);
    this.epochTimer = undefined;
    this.freeTimer = undefined;
  }

  register(seat: Seat, uco: string, _session: string): RegisterVerdict {
    const holder = this.clients.get(uco);
    // PROTOCOL §3 connect: registry full. A takeover adds no client.
    if (holder === undefined && this.clients.size >= this.context.options.maxClients) return { ok: false, reason: 'server full' };
    // PROTOCOL §3 connect: takeover — the older connection gets `new session` (and leaves).
    if (holder !== undefined) this.context.sink.kicked(holder);
    this.clients.delete(uco);
    this.clients.set(uco, seat);
    this.join(seat);
    return { ok: true, takeover: holder !== undefined };
  }

  leave(seat: Seat, reason: LeaveReason): void {
    const uco = seat.uco;
    if (uco !== undefined && this.clients.get(uco) === seat) this.clients.delete(uco);
    this.free.delete(seat);
    this.dissolve(seat, reason);
  }

  lookup(uco: string): Seat | undefined {
    return this.clients.get(uco);
  }

  seats(): Iterable<Seat> {
    return this.clients.values();
  }

  waiting(): Iterable<Seat> {
    return this.free.values();
  }

  pair(a: Seat, b: Seat): void {
    if (a.peer === b) return;
    this.dissolve(a, 'repaired');
    this.dissolve(b, 'repaired');
    this.link(a, b, 'chosen');
  }

  /**
   * PROTOCOL §6 epoch: dissolve every pair, then pair every live client at random,
   * avoiding the previous peer when another choice exists. O(n).
   */
  nextEpoch(): void {
    const { sink, random, clock } = this.context;
    this.epoch++;
    const registered = [...this.clients.values()];
    // PROTOCOL §5: a dead client is never chosen, even when its deadline is this instant.
    const clients = registered.filter((seat) => sink.isLive(seat));
    // Planned before the old pairs are dissolved: a seat's current peer is its previous one.
    const pairs = planEpoch(clients, localPeer, random);
    for (const seat of registered) {
      const peer = localPeer(seat);
      if (peer !== undefined && seat.id < peer.id) sink.unpaired(seat, 'epoch');
    }
    this.free.clear();
    if (this.freeTimer !== undefined) {
      clock.clearTimeout(this.freeTimer);
      this.freeTimer = undefined;
    }
    if (clients.length % 2 === 1) this.free.add(clients[clients.length - 1] as Seat);
    this.pairs = pairs.length;
    sink.epoch(this.epoch, clients.length, pairs);
  }

  /** Pairs the free clients now, at random (the `pairDelayMs` timer calls this). */
  pairFree(): void {
    if (this.freeTimer !== undefined) {
      this.context.clock.clearTimeout(this.freeTimer);
      this.freeTimer = undefined;
    }
    if (this.free.size < 2) return;
    // PROTOCOL §5: a dead client stays free until its deadline timer closes it.
    const clients = shuffle(
      [...this.free].filter((seat) => this.context.sink.isLive(seat)),
      this.context.random,
    );
    for (const [a, b] of consecutivePairs(clients)) {
      // Telling an earlier pair may have closed one of these (a listener, a full output).
      if (this.free.has(a) && this.free.has(b)) this.link(a, b, 'immediate');
    }
  }

  counts(): MatchmakerCounts {
    const nextEpochAt = this.epochTimer === undefined ? undefined : this.nextEpochAt;
    return { clients: this.clients.size, pairs: this.pairs, epoch: this.epoch, nextEpochAt };
  }

  /** A registered client waits for a peer: it is paired within `pairDelayMs`. */
  private join(seat: Seat): void {
    this.free.add(seat);
    this.scheduleFreePairing();
  }

  private link(a: Seat, b: Seat, kind: PairKind): void {
    this.free.delete(a);
    this.free.delete(b);
    this.pairs++;
    this.context.sink.paired(a, b, kind);
  }

  /**
   * PROTOCOL §6 "when a client leaves": `seat`'s pair is dissolved and its peer, still
   * registered, becomes free; no message is sent.
   */
  private dissolve(seat: Seat, reason: UnpairReason): void {
    const peer = localPeer(seat);
    if (peer === undefined) return;
    this.pairs--;
    this.context.sink.unpaired(seat, reason);
    if (peer.uco !== undefined && this.clients.get(peer.uco) === peer) this.join(peer);
  }

  private scheduleFreePairing(): void {
    if (this.freeTimer !== undefined || this.free.size < 2 || this.epochTimer === undefined) return;
    this.freeTimer = this.context.clock.setTimeout(() => {
      this.freeTimer = undefined;
      this.pairFree();
    }, this.context.options.pairDelayMs);
  }

  private onEpochTimer(): void {
    const { clock, options } = this.context;
    this.nextEpochAt += options.epochMs;
    this.epochTimer = clock.setTimeout(() => this.onEpochTimer(), Math.max(0, this.nextEpochAt - clock.now()));
    this.nextEpoch();
  }
}
