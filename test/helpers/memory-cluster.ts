/**
 * A second implementation of the matchmaking seam, for tests only: one in-memory
 * directory shared by several cores ("nodes"), which then behave as one server. It
 * proves that the seam carries what a networked matchmaker needs: registrations are
 * decided asynchronously (a promise, so the engine holds the connection's input), a
 * takeover closes a connection on another node, pairs span nodes (each side's peer is a
 * `RemotePeer`), and `comm` lines cross nodes byte for byte, only to the current peer.
 */
import {
  ManualClock,
  type LeaveReason,
  type Matchmaker,
  type MatchmakerCounts,
  type MatchmakerFactory,
  type MatchmakerSink,
  type PairKind,
  type Random,
  type RegisterVerdict,
  type RemotePeer,
  type Seat,
  type TimerHandle,
  type UnpairReason,
} from '../../src/index.js';
import { planEpoch } from '../../src/core/matchmaking/plan.js';
import { shuffle } from '../../src/core/random.js';

/** One registration in the directory. */
interface Entry {
  readonly uco: string;
  readonly node: MemoryNode;
  readonly seat: Seat;
  /** The peer's uco and the pair's id, while paired. */
  peer: { uco: string; pid: number } | undefined;
}

/** Timing and limits of the whole cluster (every node shares them). */
export interface DirectoryOptions {
  readonly epochMs: number;
  readonly pairDelayMs: number;
  readonly maxClients: number;
}

/** The shared state of a memory cluster: the registry, the free clients, the pairs. */
export class MemoryDirectory {
  /** Registrations by uco, in registration order. */
  private readonly entries = new Map<string, Entry>();
  private readonly free = new Set<string>();
  private readonly nodes = new Set<MemoryNode>();
  private running = 0;
  private epoch = 0;
  private pairs = 0;
  private nextPid = 1;
  private epochTimer: TimerHandle | undefined;
  private freeTimer: TimerHandle | undefined;
  /** Lines that crossed nodes, and lines dropped because the pair had changed. */
  readonly relay = { crossed: 0, dropped: 0 };

  constructor(
    readonly clock: ManualClock,
    private readonly random: Random,
    private readonly options: DirectoryOptions,
  ) {}

  /** A matchmaker factory for one more core of this cluster. */
  node(name: string): MatchmakerFactory {
    return (context) => {
      const node = new MemoryNode(this, name, context.sink);
      this.nodes.add(node);
      return node;
    };
  }

  /** Registered clients, pairs and epoch, cluster-wide. */
  counts(): MatchmakerCounts {
    return { clients: this.entries.size, pairs: this.pairs, epoch: this.epoch };
  }

  /** The node a uco is registered on. */
  nodeOf(uco: string): string | undefined {
    return this.entries.get(uco)?.node.name;
  }

  // ── called by nodes ──────────────────────────────────────────────────────────

  started(): void {
    if (this.running++ > 0) return;
    this.epochTimer = this.clock.setTimeout(() => this.onEpochTimer(), this.options.epochMs);
  }

  stopped(): void {
    if (--this.running > 0) return;
    if (this.epochTimer !== undefined) this.clock.clearTimeout(this.epochTimer);
    if (this.freeTimer !== undefined) this.clock.clearTimeout(this.freeTimer);
    this.epochTimer = undefined;
    this.freeTimer = undefined;
  }

  register(node: MemoryNode, seat: Seat, uco: string): RegisterVerdict {
    const holder = this.entries.get(uco);
    if (holder === undefined && this.entries.size >= this.options.maxClients) return { ok: false, reason: 'server full' };
    // PROTOCOL §3 connect: takeover, on whichever node the holder is.
    if (holder !== undefined) holder.node.sink.kicked(holder.seat);
    this.remove(uco, 'new session');
    this.entries.set(uco, { uco, node, seat, peer: undefined });
    this.join(uco);
    return { ok: true, takeover: holder !== undefined };
  }

  leave(node: MemoryNode, seat: Seat, reason: LeaveReason): void {
    const uco = seat.uco;
    const entry = uco === undefined ? undefined : this.entries.get(uco);
    if (entry === undefined || entry.node !== node || entry.seat !== seat) return;
    this.remove(entry.uco, reason);
  }

  seatsOf(node: MemoryNode): Seat[] {
    return [...this.entries.values()].filter((e) => e.node === node).map((e) => e.seat);
  }

  waitingOf(node: MemoryNode): Seat[] {
    return [...this.free].map((uco) => this.entries.get(uco) as Entry).filter((e) => e.node === node).map((e) => e.seat);
  }

  lookup(node: MemoryNode, uco: string): Seat | undefined {
    const entry = this.entries.get(uco);
    return entry?.node === node ? entry.seat : undefined;
  }

  pairChosen(a: Seat, b: Seat): void {
    const ea = this.entries.get(a.uco as string) as Entry;
    const eb = this.entries.get(b.uco as string) as Entry;
    if (ea.peer?.uco === eb.uco) return;
    this.dissolve(ea, 'repaired');
    this.dissolve(eb, 'repaired');
    this.link(ea, eb, 'chosen');
  }

  runEpoch(): void {
    this.epoch++;
    const registered = [...this.entries.values()];
    const previous = new Map(registered.map((e) => [e, e.peer === undefined ? undefined : this.entries.get(e.peer.uco)]));
    for (const entry of registered) {
      const peer = entry.peer === undefined ? undefined : this.entries.get(entry.peer.uco);
      if (peer !== undefined && entry.uco < peer.uco) this.unlink(entry, peer, 'epoch');
    }
    this.pairs = 0;
    this.free.clear();
    const live = registered.filter((e) => e.node.sink.isLive(e.seat));
    const pairs = planEpoch(live, (e) => previous.get(e), this.random);
    if (live.length % 2 === 1) this.free.add((live[live.length - 1] as Entry).uco);
    // Each node is told of its own side of every pair, in one batch.
    const perNode = new Map<MemoryNode, Array<readonly [Seat, Seat | RemotePeer]>>();
    for (const [a, b] of pairs) {
      const pid = this.nextPid++;
      a.peer = { uco: b.uco, pid };
      b.peer = { uco: a.uco, pid };
      this.pairs++;
      for (const [self, other] of [[a, b], [b, a]] as const) {
        const batch = perNode.get(self.node) ?? [];
        perNode.set(self.node, batch);
        if (self.node === other.node) {
          if (self === a) batch.push([a.seat, b.seat]);
        } else {
          batch.push([self.seat, this.remotePeer(self, other, pid)]);
        }
      }
    }
    for (const node of this.nodes) node.sink.epoch(this.epoch, live.length, perNode.get(node) ?? []);
  }

  pairFree(): void {
    if (this.freeTimer !== undefined) {
      this.clock.clearTimeout(this.freeTimer);
      this.freeTimer = undefined;
    }
    const candidates = shuffle(
      [...this.free].map((uco) => this.entries.get(uco) as Entry).filter((e) => e.node.sink.isLive(e.seat)),
      this.random,
    );
    for (let i = 0; i + 1 < candidates.length; i += 2) {
      const a = candidates[i] as Entry;
      const b = candidates[i + 1] as Entry;
      if (this.free.has(a.uco) && this.free.has(b.uco)) this.link(a, b, 'immediate');
    }
  }

  // ── internals ────────────────────────────────────────────────────────────────

  private remove(uco: string, reason: UnpairReason): void {
    const entry = this.entries.get(uco);
    if (entry === undefined) return;
    this.entries.delete(uco);
    this.free.delete(uco);
    this.dissolve(entry, reason);
  }

  private join(uco: string): void {
    this.free.add(uco);
    if (this.freeTimer !== undefined || this.free.size < 2 || this.running === 0) return;
    this.freeTimer = this.clock.setTimeout(() => {
      this.freeTimer = undefined;
      this.pairFree();
    }, this.options.pairDelayMs);
  }

  private link(a: Entry, b: Entry, kind: PairKind): void {
    const pid = this.nextPid++;
    this.free.delete(a.uco);
    this.free.delete(b.uco);
    a.peer = { uco: b.uco, pid };
    b.peer = { uco: a.uco, pid };
    this.pairs++;
    if (a.node === b.node) {
      a.node.sink.paired(a.seat, b.seat, kind);
      return;
    }
    a.node.sink.paired(a.seat, this.remotePeer(a, b, pid), kind);
    b.node.sink.paired(b.seat, this.remotePeer(b, a, pid), kind);
  }

  /** `entry`'s pair ends: both sides are told; the other side, still registered, is free again. */
  private dissolve(entry: Entry, reason: UnpairReason): void {
    const peer = entry.peer === undefined ? undefined : this.entries.get(entry.peer.uco);
    if (peer === undefined) {
      entry.peer = undefined;
      return;
    }
    this.unlink(entry, peer, reason);
    this.pairs--;
    if (this.entries.get(peer.uco) === peer) this.join(peer.uco);
  }

  private unlink(a: Entry, b: Entry, reason: UnpairReason): void {
    a.peer = undefined;
    b.peer = undefined;
    a.node.sink.unpaired(a.seat, reason);
    if (a.node !== b.node) b.node.sink.unpaired(b.seat, reason);
  }

  /** `self`'s view of its peer `other` on another node: lines go to `other` while pair `pid` lasts. */
  private remotePeer(self: Entry, other: Entry, pid: number): RemotePeer {
    return {
      uco: other.uco,
      send: (line) => {
        const target = this.entries.get(other.uco);
        // Never to anyone but the current peer: the pair must still be this one.
        if (target !== other || target.peer?.pid !== pid || target.peer.uco !== self.uco) {
          this.relay.dropped++;
          return false;
        }
        this.relay.crossed++;
        return other.node.sink.deliver(other.seat, line);
      },
    };
  }

  private onEpochTimer(): void {
    this.epochTimer = this.clock.setTimeout(() => this.onEpochTimer(), this.options.epochMs);
    this.runEpoch();
  }
}

/** One core's matchmaker in a memory cluster. Registrations answer on a later microtask, like a network would. */
class MemoryNode implements Matchmaker {
  constructor(
    private readonly directory: MemoryDirectory,
    readonly name: string,
    readonly sink: MatchmakerSink,
  ) {}

  start(): void {
    this.directory.started();
  }

  stop(): void {
    this.directory.stopped();
  }

  register(seat: Seat, uco: string): Promise<RegisterVerdict> {
    return Promise.resolve().then(() => this.directory.register(this, seat, uco));
  }

  leave(seat: Seat, reason: LeaveReason): void {
    this.directory.leave(this, seat, reason);
  }

  lookup(uco: string): Seat | undefined {
    return this.directory.lookup(this, uco);
  }

  seats(): Iterable<Seat> {
    return this.directory.seatsOf(this);
  }

  waiting(): Iterable<Seat> {
    return this.directory.waitingOf(this);
  }

  pair(a: Seat, b: Seat): void {
    this.directory.pairChosen(a, b);
  }

  nextEpoch(): void {
    this.directory.runEpoch();
  }

  pairFree(): void {
    this.directory.pairFree();
  }

  counts(): MatchmakerCounts {
    return this.directory.counts();
  }
}
