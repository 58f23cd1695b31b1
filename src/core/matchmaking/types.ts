/**
 * The matchmaking seam: where registration, pairing and "who is my peer" are decided.
 *
 * The engine owns connections, liveness and the relay; a {@link Matchmaker} owns the
 * registry of ucos, the free clients, the pairs and the epochs. The default,
 * {@link localMatchmaker}, keeps all of it in this process and answers synchronously.
 * An implementation whose answers arrive over the network (several processes behaving
 * as one server) plugs in through the same interface: {@link Matchmaker.register} may
 * return a promise (the connection's later input waits, in order), and every change
 * of pairing reaches the engine as a call on its {@link MatchmakerSink}, whenever it
 * is decided.
 *
 * @module
 */
import type { Clock } from '../clock.js';
import type { LeaveReason, PairKind, UnpairReason } from '../events.js';
import type { Random } from '../random.js';

/**
 * A client of this process as a matchmaker sees it: the engine's connection, read-only.
 * The engine sets {@link Seat.uco} once a registration succeeds and {@link Seat.peer}
 * when it applies {@link MatchmakerSink.paired} / {@link MatchmakerSink.unpaired}.
 */
export interface Seat {
  /** The connection's id, unique within one core. */
  readonly id: number;
  /** The registered uco, or `undefined` before registration. */
  readonly uco: string | undefined;
  /** The current peer, when paired: another local seat or a {@link RemotePeer}. */
  readonly peer: Seat | RemotePeer | undefined;
}

/**
 * The peer of a local seat when that peer lives elsewhere (another process of a
 * cluster). The relay hands it each line for the peer, byte for byte.
 */
export interface RemotePeer {
  /** The peer's uco. */
  readonly uco: string;
  /**
   * Forwards one line (without terminator) to the peer. Returns `false` when it cannot
   * be forwarded (the sender then gets `{"error":"failed"}`, PROTOCOL §3 comm).
   */
  send(line: Uint8Array | string): boolean;
}

/** The answer to {@link Matchmaker.register}: {@link Registered} or {@link Refused}. */
export type RegisterVerdict = Registered | Refused;

/** {@link Matchmaker.register} registered the seat. */
export interface Registered {
  /** Registered. */
  readonly ok: true;
  /** True when the uco was held by another connection, which was told `new session`. */
  readonly takeover: boolean;
}

/** {@link Matchmaker.register} refused the seat: the connection is closed with this reason. */
export interface Refused {
  /** Refused. */
  readonly ok: false;
  /** `server full` (PROTOCOL §3 connect, `maxClients`) or `unavailable` (the matchmaker cannot decide now). */
  readonly reason: 'server full' | 'unavailable';
}

/**
 * What a matchmaker tells the engine. Every call may come synchronously from inside a
 * {@link Matchmaker} method (the local matchmaker) or later (a networked one).
 */
export interface MatchmakerSink {
  /**
   * `a` is paired with `b` (a local seat, or a remote peer): the engine links them and
   * sends each local side `{"cmd":"pair","uco":…}` (PROTOCOL §6), `a` first.
   */
  paired(a: Seat, b: Seat | RemotePeer, kind: PairKind): void;
  /** `a`'s pair ended (its local peer's too); nothing is sent (PROTOCOL §6). */
  unpaired(a: Seat, reason: UnpairReason): void;
  /**
   * An epoch began (PROTOCOL §6): its pairs were dissolved already through
   * {@link MatchmakerSink.unpaired}; these are the new ones, announced in order.
   */
  epoch(epoch: number, clients: number, pairs: ReadonlyArray<readonly [Seat, Seat | RemotePeer]>): void;
  /** `seat`'s uco was registered by another connection (elsewhere): close it with `new session`. */
  kicked(seat: Seat): void;
  /**
   * `seat`'s registration can no longer be vouched for (a clustered node lost its lease
   * while Redis was unreachable): close it with `unavailable` (fail closed).
   */
  evicted(seat: Seat): void;
  /** PROTOCOL §5: whether `seat` may be chosen for pairing (open, and not dead). */
  isLive(seat: Seat): boolean;
  /** A line relayed to `seat` by its remote peer. Returns `false` when `seat` could not take it. */
  deliver(seat: Seat, line: Uint8Array | string): boolean;
}

/** The decisions a matchmaker makes for the engine. */
export interface Matchmaker {
  /** Starts epochs and free-client pairing. */
  start(): void;
  /** Cancels every timer; registrations are kept. */
  stop(): void;
  /**
   * PROTOCOL §3 connect: registers `seat` under `uco`. A holder elsewhere is told
   * through {@link MatchmakerSink.kicked} before the verdict (a local holder is closed
   * before the new connection's ack). A registered seat becomes free and is paired
   * later, never from inside this call.
   */
  register(seat: Seat, uco: string, session: string): RegisterVerdict | Promise<RegisterVerdict>;
  /** `seat` leaves the registry (exit, close, timeout, re-registration): its pair is dissolved. */
  leave(seat: Seat, reason: LeaveReason): void;
  /** The local seat registered under `uco`, if any. */
  lookup(uco: string): Seat | undefined;
  /**
   * The local registered seats, in registration order. The engine iterates it while
   * sending pings, and a send may close a seat (which then leaves): the iteration must
   * stay valid when seats leave during it (a `Map`/`Set` iterator does, so does a copy).
   */
  seats(): Iterable<Seat>;
  /** The local registered seats waiting for a peer (free, PROTOCOL §6). */
  waiting(): Iterable<Seat>;
  /**
   * Pairs two registered clients now, whatever chance would choose (each leaves its
   * current pair with reason `repaired`).
   */
  pair(a: Seat, b: Seat): void;
  /** Starts a new epoch now. */
  nextEpoch(): void;
  /** Pairs the free clients now instead of at the end of `pairDelayMs`. */
  pairFree(): void;
  /** Registered clients, current pairs and the epoch number, as this matchmaker knows them. */
  counts(): MatchmakerCounts;
  /**
   * Optional: a networked matchmaker's own figures (nodes, leader, relay counters…),
   * reported as `cluster` by `core.stats()`.
   */
  stats?(): Readonly<Record<string, unknown>>;
}

/** Sizes reported by {@link Matchmaker.counts}. */
export interface MatchmakerCounts {
  /** Registered clients. */
  readonly clients: number;
  /** Current pairs. */
  readonly pairs: number;
  /** The epoch number (0 before the first boundary). */
  readonly epoch: number;
  /** Clock time of the next scheduled epoch boundary, when this matchmaker schedules them and runs. */
  readonly nextEpochAt?: number | undefined;
}

/** What a core gives the matchmaker it creates. */
export interface MatchmakerContext {
  /** Where to report decisions: the engine. */
  readonly sink: MatchmakerSink;
  /** The core's clock: every timer goes through it. */
  readonly clock: Clock;
  /** The core's randomness (seeded with `--seed`). */
  readonly random: Random;
  /** The core's timing and limits. */
  readonly options: MatchmakerOptions;
}

/** The core options a matchmaker honours. */
export interface MatchmakerOptions {
  /** PROTOCOL §6: epoch length, ms. */
  readonly epochMs: number;
  /** PROTOCOL §6: longest wait of a free client for a free peer, ms. */
  readonly pairDelayMs: number;
  /** PROTOCOL §3: most registered clients (`server full` above). */
  readonly maxClients: number;
}

/** Creates the matchmaker of one core: the `cluster` option of `RouletteOptions`. */
export type MatchmakerFactory = (context: MatchmakerContext) => Matchmaker;
