/**
 * The console's view of a {@link RouletteCore}, fed only by its public events and
 * queries: what the page shows ({@link ConsoleView}) and what `/metrics` exposes.
 * Per-event work is a counter or a map entry; the views are built on demand.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { RouletteCore } from '../core/core.js';
import type { LeaveReason, PairedEvent, PairKind, RegisteredEvent, UnregisteredEvent } from '../core/events.js';
import type { ErrorKind } from '../core/messages.js';
import { RELAYED_LINE_BYTES_BOUNDS } from '../core/stats.js';
import type { StudentSummary, ReportTotals } from '../testing/report.js';
import type { GradingBoard } from './grading.js';
import { Exposition } from './metrics.js';

/** Upper bounds, in seconds, of the connect → pair latency histogram. */
export const PAIR_LATENCY_BOUNDS: readonly number[] = Object.freeze([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);

/** The core's events that change the view without being counted here. */
const CHANGE_EVENTS = ['connectionOpened', 'connectionClosed', 'protocolError', 'epochStarted'] as const;

/** Sizes of the state, resolved from {@link ConsoleOptions}. */
export interface StateLimits {
  /** Relay-rate sample period, in ms. */
  sampleMs: number;
  /** Samples kept for the chart. */
  samples: number;
  /** Client rows in a view. */
  maxClientRows: number;
  /** Recent exits kept. */
  recentExits: number;
}

/** One row of the clients table. Times are ages in ms at the view's creation. */
export interface ClientRow {
  /** The uco. */
  uco: string;
  /** The session field. */
  session: string;
  /** The transport's remote address. */
  address: string | null;
  /** For how long the connection has been open. */
  connectedMs: number;
  /** Since the last `pong` (or registration). */
  lastPongMs: number;
  /** The peer's uco, or `null` when free. */
  peer: string | null;
}

/** A client that left the registry. */
export interface ExitRow {
  /** The uco. */
  uco: string;
  /** Why it left. */
  reason: LeaveReason;
  /** How long ago, in ms. */
  agoMs: number;
}

/** The grading table: the report of the in-process reference peers. */
export interface GradingView {
  /** The reference peers' ucos. */
  peers: string[];
  /** One row per student, as `chat-roulette report` computes them. */
  students: StudentSummary[];
  /** Sums over every student. */
  totals: ReportTotals;
}

/** Counters and sizes of {@link ConsoleView}, from the core's `stats()`. */
export interface ConsoleCounts {
  /** Open connections. */
  connections: number;
  /** Registered clients. */
  clients: number;
  /** Current pairs. */
  pairs: number;
  /** `comm` lines relayed. */
  relayedMessages: number;
  /** Bytes of relayed lines. */
  relayedBytes: number;
  /** Connections ever opened. */
  connectionsOpened: number;
}

/** The relay-rate chart's points. */
export interface RelayRate {
  /** Time between two points, in ms. */
  sampleMs: number;
  /** Relayed messages per second, oldest first. */
  perSecond: number[];
}

/** Everything the page shows, as sent over Server-Sent Events and `/api/state`. */
export interface ConsoleView {
  /** Whether the core is running. */
  running: boolean;
  /** The current epoch number. */
  epoch: number;
  /** The epoch length, in ms. */
  epochMs: number;
  /** The ping interval, in ms: a client whose last pong is older than two is late. */
  pingIntervalMs: number;
  /** A client whose last pong is this old is dropped (`timeout`), in ms. */
  deadAfterMs: number;
  /** Time until the next epoch boundary, in ms, or `null` while stopped. */
  nextEpochInMs: number | null;
  /** Counters and sizes. */
  counts: ConsoleCounts;
  /** Error replies sent, by kind. */
  errors: Record<ErrorKind, number>;
  /** The first `maxClientRows` registered clients, in registration order. */
  clients: ClientRow[];
  /** Current pairs among those clients, each once. */
  pairs: [string, string][];
  /** Relayed messages per second, over the last minutes. */
  relayRate: RelayRate;
  /** Recent exits, newest first. */
  exits: ExitRow[];
  /** The grading table, when reference peers run. */
  grading: GradingView | null;
}

/** The running view model of one core. */
export class ConsoleState {
  private readonly clock: Clock;
  /** Registration time of each uco not yet paired since it registered. */
  private readonly waitingSince = new Map<string, number>();
  private readonly latencyCounts = new Array<number>(PAIR_LATENCY_BOUNDS.length + 1).fill(0);
  private latencySum = 0;
  private readonly exitCounts = new Map<LeaveReason, number>();
  private readonly exitRing: { uco: string; reason: LeaveReason; at: number }[] = [];
  private readonly pairsFormed: Record<PairKind, number> = { epoch: 0, immediate: 0, chosen: 0 };
  private readonly rates: number[] = [];
  private lastRelayed: number;
  private lastSampleAt: number;
  private sampler: TimerHandle | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly core: RouletteCore,
    private readonly limits: StateLimits,
    private readonly grading: GradingBoard | undefined,
    private readonly changed: () => void,
  ) {
    this.clock = core.clock;
    this.lastRelayed = core.stats().relayedMessages;
    this.lastSampleAt = this.clock.now();
    const onRegistered = (e: RegisteredEvent): void => this.onRegistered(e);
    const onUnregistered = (e: UnregisteredEvent): void => this.onUnregistered(e);
    const onPaired = (e: PairedEvent): void => this.onPaired(e);
    const onChange = (): void => this.changed();
    core.on('registered', onRegistered);
    core.on('unregistered', onUnregistered);
    core.on('paired', onPaired);
    // Not `unpaired` (every end of a pair comes with an epoch, a new pair or a leave)
    // and not `relayed` (an object per line): the counters come from stats().
    for (const name of CHANGE_EVENTS) core.on(name, onChange);
    this.unsubscribe = () => {
      core.off('registered', onRegistered);
      core.off('unregistered', onUnregistered);
      core.off('paired', onPaired);
      for (const name of CHANGE_EVENTS) core.off(name, onChange);
    };
    this.scheduleSample();
  }

  /** Stops listening and sampling. */
  close(): void {
    this.unsubscribe();
    if (this.sampler !== undefined) this.clock.clearTimeout(this.sampler);
    this.sampler = undefined;
  }

  /** The page's view, now. */
  view(): ConsoleView {
    const now = this.clock.now();
    const stats = this.core.stats();
    const nextEpochAt = this.core.nextEpochAt;
    const clients: ClientRow[] = [];
    const pairs: [string, string][] = [];
    const shown = new Set<string>();
    for (const c of this.core.clients()) {
      if (clients.length >= this.limits.maxClientRows) break;
      clients.push({
        uco: c.uco,
        session: c.session,
        address: c.remoteAddress ?? null,
        connectedMs: Math.max(0, now - c.connectedAt),
        lastPongMs: Math.max(0, now - c.lastSeen),
        peer: c.peer ?? null,
      });
      if (c.peer !== undefined && shown.has(c.peer)) pairs.push([c.peer, c.uco]);
      shown.add(c.uco);
    }
    return {
      running: this.core.running,
      epoch: stats.epochs,
      epochMs: this.core.options.epochMs,
      pingIntervalMs: this.core.options.pingIntervalMs,
      deadAfterMs: this.core.options.deadAfterMs,
      nextEpochInMs: nextEpochAt === undefined ? null : Math.max(0, nextEpochAt - now),
      counts: {
        connections: stats.connections,
        clients: stats.clients,
        pairs: stats.pairs,
        relayedMessages: stats.relayedMessages,
        relayedBytes: stats.relayedBytes,
        connectionsOpened: stats.connectionsOpened,
      },
      errors: stats.errors,
      clients,
      pairs,
      relayRate: { sampleMs: this.limits.sampleMs, perSecond: [...this.rates] },
      exits: this.exitRing
        .map((e) => ({ uco: e.uco, reason: e.reason, agoMs: Math.max(0, now - e.at) }))
        .reverse(),
      grading: this.gradingView(),
    };
  }

  /** The Prometheus exposition, now. */
  metrics(extra: { sseClients: number }): string {
    const stats = this.core.stats();
    const out = new Exposition()
      .gauge('chat_roulette_up', '1 while the core is running, 0 when stopped.', this.core.running ? 1 : 0)
      .gauge('chat_roulette_connections', 'Open connections, registered or not.', stats.connections)
      .gauge('chat_roulette_clients', 'Registered clients.', stats.clients)
      .gauge('chat_roulette_pairs', 'Current pairs.', stats.pairs)
      .counter('chat_roulette_epochs_total', 'Epoch boundaries passed.', stats.epochs)
      .counter('chat_roulette_connections_opened_total', 'Connections ever opened.', stats.connectionsOpened)
      .counter(
        'chat_roulette_pairs_formed_total',
        'Pairs formed, by kind: at an epoch boundary, between epochs for free clients, or chosen by an operator.',
        (Object.keys(this.pairsFormed) as PairKind[]).map((kind) => ({ labels: { kind }, value: this.pairsFormed[kind] })),
      )
      .counter('chat_roulette_relayed_messages_total', 'comm lines relayed to a peer.', stats.relayedMessages)
      .counter('chat_roulette_relayed_bytes_total', 'Bytes of relayed comm lines, without terminators.', stats.relayedBytes)
      .counter(
        'chat_roulette_protocol_errors_total',
        'Error replies sent to clients, by error text.',
        (Object.keys(stats.errors) as ErrorKind[]).map((kind) => ({ labels: { kind }, value: stats.errors[kind] })),
      )
      .counter(
        'chat_roulette_client_exits_total',
        'Clients that left the registry, by reason.',
        [...this.exitCounts].map(([reason, value]) => ({ labels: { reason }, value })),
      )
      .histogram(
        'chat_roulette_connect_to_pair_seconds',
        'Time from a client registering (connect) to its first pair.',
        PAIR_LATENCY_BOUNDS,
        this.latencyCounts,
        this.latencySum,
      )
      .histogram(
        'chat_roulette_relay_line_bytes',
        'Size of relayed comm lines, in bytes (the sum is chat_roulette_relayed_bytes_total).',
        RELAYED_LINE_BYTES_BOUNDS,
        stats.relayedLineBytes,
        stats.relayedBytes,
      )
      .gauge('chat_roulette_console_sse_clients', 'Open Server-Sent Events streams of the console.', extra.sseClients);
    if (this.grading !== undefined) {
      const t = this.grading.report().totals;
      out
        .counter('chat_roulette_dh_rounds_total', 'Diffie-Hellman rounds of the reference peers that ended, by outcome.', [
          { labels: { outcome: 'successful' }, value: t.successful },
          { labels: { outcome: 'failed' }, value: t.failed },
        ])
        .gauge('chat_roulette_dh_rounds_incomplete', 'Diffie-Hellman rounds that neither finished nor failed yet.', t.incomplete)
        .gauge('chat_roulette_dh_students', 'Students seen by the reference peers.', t.students);
    }
    return out.text();
  }

  private gradingView(): GradingView | null {
    if (this.grading === undefined) return null;
    const report = this.grading.report();
    return { peers: this.grading.peerUcos, students: report.students, totals: report.totals };
  }

  private onRegistered(e: RegisteredEvent): void {
    if (!e.repeated) this.waitingSince.set(e.uco, this.clock.now());
    this.changed();
  }

  private onUnregistered(e: UnregisteredEvent): void {
    this.waitingSince.delete(e.uco);
    this.exitCounts.set(e.reason, (this.exitCounts.get(e.reason) ?? 0) + 1);
    this.exitRing.push({ uco: e.uco, reason: e.reason, at: this.clock.now() });
    if (this.exitRing.length > this.limits.recentExits) this.exitRing.shift();
    this.changed();
  }

  private onPaired(e: PairedEvent): void {
    this.pairsFormed[e.kind]++;
    this.observeFirstPair(e.a);
    this.observeFirstPair(e.b);
    this.changed();
  }

  private observeFirstPair(uco: string): void {
    const since = this.waitingSince.get(uco);
    if (since === undefined) return;
    this.waitingSince.delete(uco);
    const seconds = (this.clock.now() - since) / 1000;
    let i = 0;
    while (i < PAIR_LATENCY_BOUNDS.length && seconds > (PAIR_LATENCY_BOUNDS[i] as number)) i++;
    (this.latencyCounts[i] as number)++;
    this.latencySum += seconds;
  }

  private scheduleSample(): void {
    this.sampler = this.clock.setTimeout(() => this.sample(), this.limits.sampleMs);
  }

  /** One point of the relay-rate chart. */
  private sample(): void {
    const now = this.clock.now();
    const relayed = this.core.stats().relayedMessages;
    const seconds = (now - this.lastSampleAt) / 1000;
    this.rates.push(seconds > 0 ? Math.round(((relayed - this.lastRelayed) / seconds) * 10) / 10 : 0);
    if (this.rates.length > this.limits.samples) this.rates.shift();
    this.lastRelayed = relayed;
    this.lastSampleAt = now;
    this.scheduleSample();
    this.changed();
  }
}
