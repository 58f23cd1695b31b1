/**
 * One node's matchmaker: registrations, pairs and relay across nodes through Redis.
 * Redis holds the registry and the pairs; this node keeps a cache of its own clients
 * only and changes it from its inbox (and from its own leaves).
 *
 * @module
 */
import { createClient, type RedisClientType } from '@redis/client';
import { planEpoch } from 'chat-roulette';
import createDebug from 'debug';
import type {
  Clock,
  LeaveReason,
  Matchmaker,
  MatchmakerContext,
  MatchmakerCounts,
  PairKind,
  RegisterVerdict,
  RemotePeer,
  Seat,
  TimerHandle,
  UnpairReason,
} from 'chat-roulette';
import { SCRIPTS, type ScriptName } from './scripts.js';
import { createHash } from 'node:crypto';

const log = createDebug('chat-roulette:redis');

/** A batch of relayed lines is published once it holds this many bytes (else at the end of the tick). */
const BATCH_MAX_BYTES = 64 * 1024;

/** Relay frames start with this byte; control notices with a letter of `PLUK`. */
const RELAY = 0x52; // 'R'

/** A connected client of `@redis/client`, whatever its modules. */
export type AnyRedisClient = RedisClientType<never, never, never, 2 | 3, never> | ReturnType<typeof createClient>;

/** The resolved settings of one node. */
export interface NodeSettings {
  readonly url: string | undefined;
  readonly client: AnyRedisClient | undefined;
  readonly name: string;
  readonly nodeId: string;
  readonly nodeTtlMs: number;
  readonly beatMs: number;
  readonly graceMs: number;
  readonly clusterWaitMs: number;
  readonly reconcileMs: number;
}

/** Relay and notice counters of one node (see {@link RedisClusterStats}). */
export interface RelayCounters {
  /** Lines handed to Redis for another node. */
  sent: number;
  /** Relay frames published. */
  frames: number;
  /** Lines received from other nodes and written to their destination. */
  delivered: number;
  /** Lines whose PUBLISH reached no subscriber (the destination node is gone). */
  noReceiver: number;
  /** Lines whose PUBLISH failed (Redis unreachable); they may or may not have arrived. */
  publishFailed: number;
  /** Lines received for a pair that had ended (never given to anyone else). */
  droppedStale: number;
  /** Lines the destination connection did not take (closing). */
  droppedGone: number;
  /** Lines refused at once because this node cannot reach Redis. */
  refused: number;
}

/** A node's view of the cluster, refreshed at each lease renewal. */
export interface RedisClusterStats {
  /** This node's id. */
  readonly nodeId: string;
  /** Whether the node holds its lease and its inbox subscription. */
  readonly ready: boolean;
  /** Registered clients, cluster-wide, at the last renewal. */
  readonly clients: number;
  /** Pairs, cluster-wide, at the last renewal. */
  readonly pairs: number;
  /** Nodes holding a lease (or not yet reaped), at the last renewal. */
  readonly nodes: number;
  /** The node that runs the epochs, at the last renewal (`''` before the first). */
  readonly leader: string;
  /** The last epoch this node heard of. */
  readonly epoch: number;
  /** Clients registered through this node. */
  readonly localClients: number;
  /** Dead nodes this node reaped. */
  readonly reaped: number;
  /** Redis calls that failed (each handled). */
  readonly redisErrors: number;
  /** Corrections made by reconcile: notices that never arrived, rows nobody held. */
  readonly reconciled: number;
  /**
   * Registrations this node wrote back after its lease lapsed (Redis restarted empty,
   * or was unreachable longer than the lease): its clients stay connected.
   */
  readonly reclaimed: number;
  /** Relay counters of this node. */
  readonly relay: Readonly<RelayCounters>;
}

/** A local client as this node knows it. */
interface Local {
  readonly seat: Seat;
  readonly uco: string;
  readonly gen: string;
  /** The current pair's id, while paired. */
  pid: number | undefined;
}

/** Lines queued for one destination node. */
interface Batch {
  chunks: Buffer[];
  bytes: number;
  lines: number;
}

/**
 * Pairs per epoch commit script: Redis runs one script at a time and nothing else
 * meanwhile, so a chunk bounds how long an epoch holds up other nodes' commands (about
 * 4 ms at 100 pairs on the project's machine; 9–10 ms at 250).
 */
const EPOCH_CHUNK = 100;

/** Fields per HSCAN page of the epoch's snapshot: a page is a short command, like a chunk. */
const SNAPSHOT_PAGE = 2_000;

/** Clients per reclaim script after a lapsed lease (a short command, like an epoch chunk). */
const RECLAIM_CHUNK = 250;

/** The fields of a hash reply (HGETALL, an HSCAN page): a flat array (RESP2), a Map or an object (RESP3). */
function entries(reply: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])]);
  } else if (reply instanceof Map) {
    for (const [k, v] of reply) out.push([String(k), String(v)]);
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [k, v] of Object.entries(reply)) out.push([k, String(v)]);
  }
  return out;
}

/** Thrown inside the node when Redis cannot answer in time. */
class Unavailable extends Error {}

/** The matchmaker of one node. */
export class RedisMatchmaker implements Matchmaker {
  private cmd: AnyRedisClient | undefined;
  private sub: AnyRedisClient | undefined;
  private readonly shas = new Map<ScriptName, string>();
  private readonly keys: string[];
  private readonly prefix: string;
  private readonly inboxPrefix: string;
  /** Registered clients of this node by connection id, and by uco. */
  private readonly locals = new Map<number, Local>();
  private readonly byUco = new Map<string, Local>();
  /** Clients to offer for pairing at the end of this tick. */
  private readonly joins = new Set<Local>();
  private joinScheduled = false;
  private readonly batches = new Map<string, Batch>();
  private flushScheduled = false;
  /** Leaves Redis did not confirm: retried at each renewal. */
  private readonly retryLeaves: string[][] = [];
  /**
   * Takeover notices (`conn|gen`) that arrived before the reply of their registration
   * (the inbox and the command connection are two sockets): applied once it arrives.
   */
  private readonly earlyKicks = new Set<string>();
  private beatTimer: TimerHandle | undefined;
  private started = false;
  private stopping = false;
  private isReady = false;
  private readyPromise: Promise<void> | undefined;
  private closedPromise: Promise<void> | undefined;
  private snapshot = { clients: 0, pairs: 0, nodes: 0, leader: '' };
  /** The last epoch this node heard of. */
  private epochNo = 0;
  private epochTimer: TimerHandle | undefined;
  private epochRunning = false;
  /** Registrations whose script has not answered yet, by uco (reconcile leaves their rows alone). */
  private readonly registering = new Map<string, number>();
  private lastReconcile = 0;
  private reconciling = false;
  /** Local views corrected by reconcile (missed notices, orphan rows). */
  private reconciled = 0;
  private reaped = 0;
  private redisErrors = 0;
  /** The lease lapsed: this node's clients take their registrations back at the next renewal. */
  private reclaimPending = false;
  private reclaimed = 0;
  /** The highest gen or pid this node has seen (a reclaim raises Redis's counter to it). */
  private highestSeq = 0;
  /** Pairs Redis holds that this node's view did not, at the last reconcile (uco → pid). */
  private suspects = new Map<string, string>();
  readonly relay: RelayCounters = { sent: 0, frames: 0, delivered: 0, noReceiver: 0, publishFailed: 0, droppedStale: 0, droppedGone: 0, refused: 0 };

  constructor(
    private readonly context: MatchmakerContext,
    readonly settings: NodeSettings,
  ) {
    const p = `cr:{${settings.name}}:`;
    this.prefix = p;
    this.inboxPrefix = `${p}in:`;
    this.keys = [`${p}own`, `${p}peer`, `${p}free`, `${p}nodes`, `${p}seq`, `${p}leader`, `${p}epoch`, `${p}epair`];
  }

  private get clock(): Clock {
    return this.context.clock;
  }

  // ── life cycle ──────────────────────────────────────────────────────────────

  start(): void {
    if (this.started) return;
    this.started = true;
    this.readyPromise = this.attach();
    // Registrations see the failure (`unavailable`); nothing else waits on it.
    this.readyPromise.catch((error: unknown) => this.failed('start', error));
  }

  /** Resolves once the node holds its lease and its inbox subscription. */
  ready(): Promise<void> {
    return this.readyPromise ?? Promise.reject(new Error('the core has not started'));
  }

  /** Resolves once a stopped node has handed its clients back and closed its connections. */
  closed(): Promise<void> {
    return this.closedPromise ?? Promise.resolve();
  }

  stop(): void {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    if (this.beatTimer !== undefined) this.clock.clearTimeout(this.beatTimer);
    if (this.epochTimer !== undefined) this.clock.clearTimeout(this.epochTimer);
    this.beatTimer = undefined;
    this.epochTimer = undefined;
    // The lease ends first: none of this node's clients is chosen while they leave.
    // The engine closes every connection right after this call; their leaves queue
    // behind this script, and the self-reap behind them.
    if (this.isReady) this.run('detach', this.settings.nodeId, []).catch((error: unknown) => this.failed('detach', error));
    this.closedPromise = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.detach());
  }

  private async attach(): Promise<void> {
    const { url, client } = this.settings;
    const options = {
      disableOfflineQueue: true,
      RESP: 2 as const,
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000) },
    };
    const cmd = (client ?? createClient(url === undefined ? options : { ...options, url })) as AnyRedisClient;
    const sub = (client === undefined ? createClient(url === undefined ? options : { ...options, url }) : client.duplicate(options)) as AnyRedisClient;
    this.cmd = cmd;
    this.sub = sub;
    cmd.on('error', (error: unknown) => this.failed('connection', error));
    sub.on('error', (error: unknown) => this.failed('subscriber', error));
    if (!cmd.isOpen) await cmd.connect();
    await sub.connect();
    for (const [name, source] of Object.entries(SCRIPTS) as Array<[ScriptName, string]>) {
      this.shas.set(name, createHash('sha1').update(source).digest('hex'));
    }
    await sub.subscribe(this.inboxPrefix + this.settings.nodeId, (message: Buffer) => this.inbox(message), true);
    await this.beat(true);
    if (this.stopping) return;
    this.isReady = true;
    log('node %s ready on cluster %s', this.settings.nodeId, this.settings.name);
  }

  private async detach(): Promise<void> {
    this.flush();
    const own = this.settings.client;
    if (!this.isReady) {
      // Never attached (Redis unreachable): nothing to hand back.
      for (const client of [this.sub, own === undefined ? this.cmd : undefined]) {
        try {
          client?.destroy();
        } catch (error) {
          this.failed('detach', error);
        }
      }
      return;
    }
    try {
      // Self-reap: every client of this node that is still registered leaves, and its
      // peer elsewhere is paired again at once.
      while ((await this.run('reap', this.settings.nodeId, ['0', '1'])) === 1);
    } catch (error) {
      this.failed('detach', error);
    }
    this.isReady = false;
    await Promise.allSettled([
      this.sub?.isOpen === true ? this.sub.close() : undefined,
      own === undefined && this.cmd?.isOpen === true ? this.cmd.close() : undefined,
    ]);
    log('node %s detached', this.settings.nodeId);
  }

  // ── Matchmaker ──────────────────────────────────────────────────────────────

  async register(seat: Seat, uco: string, _session: string): Promise<RegisterVerdict> {
    if (this.stopping || !this.started) return { ok: false, reason: 'unavailable' };
    const call = this.ready().then(() =>
      this.run('register', this.settings.nodeId, [String(seat.id), uco, String(this.context.options.maxClients)]),
    );
    let reply: unknown;
    this.registering.set(uco, (this.registering.get(uco) ?? 0) + 1);
    const settled = (): void => {
      const n = (this.registering.get(uco) ?? 1) - 1;
      if (n === 0) this.registering.delete(uco);
      else this.registering.set(uco, n);
    };
    call.then(settled, settled);
    try {
      reply = await this.within(call);
    } catch (error) {
      this.failed('register', error);
      // Redis may still run it later: a registration nobody holds is withdrawn.
      if (error instanceof Unavailable) call.then((late) => this.withdraw(seat, uco, late), () => undefined);
      return { ok: false, reason: 'unavailable' };
    }
    const [status, gen, holderNode, holderConn, holderGen] = reply as [number, number, string, string, string];
    if (status === -1) return { ok: false, reason: 'unavailable' };
    if (status === 0) return { ok: false, reason: 'server full' };
    // PROTOCOL §3 connect: a holder on this node is closed before the new ack.
    if (holderNode === this.settings.nodeId) {
      const holder = this.locals.get(Number(holderConn));
      if (holder !== undefined && holder.gen === holderGen) this.context.sink.kicked(holder.seat);
    }
    this.highestSeq = Math.max(this.highestSeq, Number(gen));
    const local: Local = { seat, uco, gen: String(gen), pid: undefined };
    this.locals.set(seat.id, local);
    this.byUco.set(uco, local);
    if (this.earlyKicks.delete(`${seat.id}|${local.gen}`)) {
      // Taken over already: the engine applies this verdict first, then the kick.
      setImmediate(() => {
        if (this.locals.get(seat.id) === local) this.context.sink.kicked(seat);
      });
    } else {
      this.join(local);
    }
    return { ok: true, takeover: holderNode !== '' };
  }

  leave(seat: Seat, reason: LeaveReason): void {
    const local = this.locals.get(seat.id);
    if (local === undefined) return;
    this.forget(local);
    // PROTOCOL §6: the pair ends now on this node; Redis tells the other side.
    this.unpairLocally(local, reason);
    this.sendLeave([String(seat.id), local.gen, local.uco, reason]);
  }

  lookup(uco: string): Seat | undefined {
    return this.byUco.get(uco)?.seat;
  }

  seats(): Iterable<Seat> {
    return [...this.byUco.values()].map((local) => local.seat);
  }

  waiting(): Iterable<Seat> {
    return [...this.byUco.values()].filter((local) => local.pid === undefined).map((local) => local.seat);
  }

  pair(a: Seat, b: Seat): void {
    const la = this.locals.get(a.id);
    const lb = this.locals.get(b.id);
    if (la === undefined || lb === undefined || a.peer === b) return;
    this.run('choose', this.settings.nodeId, [la.uco, String(a.id), la.gen, lb.uco, String(b.id), lb.gen]).catch((error: unknown) =>
      this.failed('choose', error),
    );
  }

  /**
   * Starts a new epoch now, cluster-wide — on the leader node only (elsewhere nothing
   * happens: the leader keeps its schedule).
   */
  nextEpoch(): void {
    if (this.isReady && this.snapshot.leader === this.settings.nodeId) this.runEpoch(true);
  }

  pairFree(): void {
    for (const local of this.byUco.values()) if (local.pid === undefined) this.join(local);
  }

  counts(): MatchmakerCounts {
    let pairs = 0;
    for (const local of this.byUco.values()) {
      const peer = local.seat.peer;
      if (peer === undefined) continue;
      // A local pair counts once; a pair with a remote peer counts on each node.
      if (!('send' in peer) && (peer as Seat).id < local.seat.id) continue;
      pairs++;
    }
    return { clients: this.byUco.size, pairs, epoch: this.epochNo };
  }

  /** This node's view of the cluster (also `core.stats().cluster`). */
  stats(): RedisClusterStats & Readonly<Record<string, unknown>> {
    return {
      nodeId: this.settings.nodeId,
      ready: this.isReady,
      ...this.snapshot,
      epoch: this.epochNo,
      localClients: this.byUco.size,
      reaped: this.reaped,
      redisErrors: this.redisErrors,
      reconciled: this.reconciled,
      reclaimed: this.reclaimed,
      relay: { ...this.relay },
    };
  }

  // ── registrations ───────────────────────────────────────────────────────────

  private forget(local: Local): void {
    this.locals.delete(local.seat.id);
    if (this.byUco.get(local.uco) === local) this.byUco.delete(local.uco);
    this.joins.delete(local);
  }

  /** A registration whose answer came too late: it leaves at once (fenced by its gen). */
  private withdraw(seat: Seat, uco: string, reply: unknown): void {
    const [status, gen] = reply as [number, number];
    if (status === 1) this.sendLeave([String(seat.id), String(gen), uco, 'transport closed']);
  }

  private sendLeave(args: string[]): void {
    this.run('leave', this.settings.nodeId, args).catch((error: unknown) => {
      this.failed('leave', error);
      this.retryLeaves.push(args);
    });
  }

  /** Ends pair `pid` in Redis, which this node's view does not hold; both sides are paired again. */
  private unpair(local: Local, pid: number | string): void {
    this.run('unpair', this.settings.nodeId, [String(local.seat.id), local.gen, local.uco, String(pid)]).catch((error: unknown) => this.failed('unpair', error));
  }

  /** Offers `local` for pairing at the end of this tick (joins are batched and shuffled by SPOP). */
  private join(local: Local): void {
    this.joins.add(local);
    if (this.joinScheduled) return;
    this.joinScheduled = true;
    setImmediate(() => {
      this.joinScheduled = false;
      const args: string[] = [];
      for (const l of this.joins) if (l.pid === undefined && l.seat.uco === l.uco) args.push(l.uco, String(l.seat.id), l.gen);
      this.joins.clear();
      if (args.length === 0 || this.stopping) return;
      this.run('join', this.settings.nodeId, args).catch((error: unknown) => this.failed('join', error));
    });
  }

  private unpairLocally(local: Local, reason: UnpairReason): void {
    const peer = local.seat.peer;
    local.pid = undefined;
    if (peer === undefined) return;
    this.context.sink.unpaired(local.seat, reason);
    if (!('send' in peer)) {
      const other = this.locals.get((peer as Seat).id);
      if (other !== undefined) other.pid = undefined;
    }
  }

  // ── the inbox ───────────────────────────────────────────────────────────────

  private inbox(message: Buffer): void {
    try {
      if (message[0] === RELAY) this.receive(message);
      else this.notice(message.toString('utf8'));
    } catch (error) {
      this.failed('inbox', error);
    }
  }

  private notice(text: string): void {
    const f = text.split('|');
    const kind = f[0];
    if (kind === 'P') {
      // P|conn|gen|pid|peerNode|peerConn|kind|peerUco
      const local = this.current(f[1], f[2]);
      const pid = Number(f[3]);
      if (local === undefined || (local.pid !== undefined && local.pid >= pid)) return;
      const peerUco = f.slice(7).join('|');
      this.highestSeq = Math.max(this.highestSeq, pid);
      this.unpairLocally(local, 'repaired');
      local.pid = pid;
      this.joins.delete(local);
      this.context.sink.paired(local.seat, this.remotePeer(local, pid, f[4] as string, Number(f[5]), peerUco), f[6] as PairKind);
    } else if (kind === 'L') {
      // L|connA|genA|connB|genB|pid|kind
      const a = this.current(f[1], f[2]);
      const b = this.current(f[3], f[4]);
      const pid = Number(f[5]);
      if (a === undefined || b === undefined) return;
      if ((a.pid !== undefined && a.pid >= pid) || (b.pid !== undefined && b.pid >= pid)) return;
      this.highestSeq = Math.max(this.highestSeq, pid);
      this.unpairLocally(a, 'repaired');
      this.unpairLocally(b, 'repaired');
      a.pid = pid;
      b.pid = pid;
      this.joins.delete(a);
      this.joins.delete(b);
      this.context.sink.paired(a.seat, b.seat, f[6] as PairKind);
    } else if (kind === 'U') {
      // U|conn|gen|pid|reason
      const local = this.current(f[1], f[2]);
      if (local === undefined || local.pid !== Number(f[3])) return;
      this.unpairLocally(local, f.slice(4).join('|') as UnpairReason);
    } else if (kind === 'E') {
      // E|n|clients: PROTOCOL §6, epoch n began; its pairs follow as P/L notices.
      this.epochNo = Math.max(this.epochNo, Number(f[1]));
      this.context.sink.epoch(Number(f[1]), Number(f[2]), []);
    } else if (kind === 'K') {
      // K|conn|gen: PROTOCOL §3 connect, taken over on another node.
      const local = this.current(f[1], f[2]);
      if (local !== undefined) this.context.sink.kicked(local.seat);
      else if (!this.locals.has(Number(f[1]))) {
        if (this.earlyKicks.size >= 10_000) this.earlyKicks.clear();
        this.earlyKicks.add(`${f[1]}|${f[2]}`);
      }
    }
  }

  /** The local client on connection `conn` if it still holds registration `gen`. */
  private current(conn: string | undefined, gen: string | undefined): Local | undefined {
    const local = this.locals.get(Number(conn));
    return local !== undefined && local.gen === gen ? local : undefined;
  }

  // ── relay ───────────────────────────────────────────────────────────────────

  /** The peer of `local` on another node while pair `pid` lasts. */
  private remotePeer(local: Local, pid: number, node: string, conn: number, uco: string): RemotePeer {
    return {
      uco,
      send: (line) => {
        // Never under a pair that has ended, never through a node that cannot reach Redis.
        if (local.pid !== pid || this.stopping || this.cmd?.isReady !== true) {
          this.relay.refused++;
          return false;
        }
        this.enqueue(node, conn, pid, line);
        return true;
      },
    };
  }

  /** Frame entry: u32 destination connection, f64 pid, u32 length, the line. */
  private enqueue(node: string, conn: number, pid: number, line: Uint8Array | string): void {
    const body = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    const head = Buffer.allocUnsafe(16);
    head.writeUInt32BE(conn, 0);
    head.writeDoubleBE(pid, 4);
    head.writeUInt32BE(body.length, 12);
    let batch = this.batches.get(node);
    if (batch === undefined) {
      batch = { chunks: [], bytes: 0, lines: 0 };
      this.batches.set(node, batch);
    }
    // The line's bytes are copied: the caller's buffer may be reused.
    batch.chunks.push(head, Buffer.from(body));
    batch.bytes += 16 + body.length;
    batch.lines++;
    this.relay.sent++;
    if (batch.bytes >= BATCH_MAX_BYTES) this.publish(node, batch);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [node, batch] of this.batches) this.publish(node, batch);
  }

  /** One PUBLISH per destination node: `R`, source node, then the entries. */
  private publish(node: string, batch: Batch): void {
    this.batches.delete(node);
    if (batch.lines === 0) return;
    const id = Buffer.from(this.settings.nodeId, 'utf8');
    const head = Buffer.allocUnsafe(2 + id.length);
    head[0] = RELAY;
    head[1] = id.length;
    id.copy(head, 2);
    const frame = Buffer.concat([head, ...batch.chunks]);
    const lines = batch.lines;
    this.relay.frames++;
    const cmd = this.cmd;
    if (cmd === undefined) {
      this.relay.publishFailed += lines;
      return;
    }
    cmd.sendCommand<number>(['PUBLISH', this.inboxPrefix + node, frame]).then(
      (receivers) => {
        if (receivers === 0) this.relay.noReceiver += lines;
      },
      (error: unknown) => {
        this.relay.publishFailed += lines;
        this.failed('publish', error);
      },
    );
  }

  /** A relay frame from another node: each line goes to its connection if the pair is still the same. */
  private receive(frame: Buffer): void {
    let at = 2 + (frame[1] as number);
    while (at + 16 <= frame.length) {
      const conn = frame.readUInt32BE(at);
      const pid = frame.readDoubleBE(at + 4);
      const length = frame.readUInt32BE(at + 12);
      const line = frame.subarray(at + 16, at + 16 + length);
      at += 16 + length;
      const local = this.locals.get(conn);
      // Never to anyone but the current peer: the destination must still hold pair `pid`.
      if (local === undefined || local.pid !== pid) {
        this.relay.droppedStale++;
        continue;
      }
      if (this.context.sink.deliver(local.seat, line)) this.relay.delivered++;
      else this.relay.droppedGone++;
    }
  }

  // ── lease and reaper ────────────────────────────────────────────────────────

  private scheduleBeat(): void {
    if (this.stopping) return;
    this.beatTimer = this.clock.setTimeout(() => {
      this.beatTimer = undefined;
      this.beat(false).catch((error: unknown) => this.failed('beat', error));
    }, this.settings.beatMs);
  }

  /** Renews the lease, refreshes the cluster counts and reaps dead nodes. */
  private async beat(first: boolean): Promise<void> {
    try {
      const { nodeTtlMs, graceMs, nodeId } = this.settings;
      const epochMs = String(this.context.options.epochMs);
      const reply = (await this.run('beat', nodeId, [String(nodeTtlMs), String(graceMs), first ? '1' : '0', epochMs])) as Array<number | string>;
      const [lapsed, clients, pairs, nodes, leader, , due, ...dead] = reply;
      this.snapshot = { clients: Number(clients), pairs: Number(pairs), nodes: Number(nodes), leader: String(leader) };
      if (lapsed === 1) this.reclaimPending = true;
      if (leader === nodeId) this.scheduleEpoch(Number(due));
      for (const args of this.retryLeaves.splice(0)) this.sendLeave(args);
      if (this.reclaimPending) await this.reclaim();
      for (const node of dead) await this.reap(String(node));
      const now = this.clock.now();
      if (!first && !this.reclaimPending && now - this.lastReconcile >= this.settings.reconcileMs) {
        this.lastReconcile = now;
        await this.reconcile();
      }
    } finally {
      if (!first) this.scheduleBeat();
    }
    if (first) this.scheduleBeat();
  }

  // ── reconcile ───────────────────────────────────────────────────────────────

  /**
   * Compares this node's view with Redis and repairs what a lost notice (a subscriber
   * reconnect) or a lost reply left behind: a registration taken over elsewhere is
   * closed (`new session`), one that vanished is written back (a reclaim at the next
   * renewal), a pair that ended is ended here too, a pair Redis holds that this node
   * never heard of is ended (when two rounds see it), a client neither paired nor
   * waiting is offered again, and a row of this node that no connection holds is removed
   * (fenced by its gen). A view that changed while Redis answered is left for the next
   * round.
   */
  private async reconcile(): Promise<void> {
    if (this.reconciling || this.stopping) return;
    this.reconciling = true;
    try {
      const cmd = this.cmd as AnyRedisClient;
      const me = this.settings.nodeId;
      const listed = (await cmd.sendCommand(['SMEMBERS', `${this.prefix}byn:${me}`])) as unknown;
      const ucos = new Set<string>([...this.byUco.keys(), ...(Array.isArray(listed) ? listed.map(String) : [])]);
      if (ucos.size === 0) return;
      const names = [...ucos];
      const before = new Map(names.map((u) => [u, this.byUco.get(u)] as const));
      const pids = new Map(names.map((u) => [u, this.byUco.get(u)?.pid] as const));
      const [own, peer, free] = (await Promise.all([
        cmd.sendCommand(['HMGET', `${this.prefix}own`, ...names]),
        cmd.sendCommand(['HMGET', `${this.prefix}peer`, ...names]),
        cmd.sendCommand(['SMISMEMBER', `${this.prefix}free`, ...names]),
      ])) as unknown as [Array<string | null>, Array<string | null>, number[]];
      const suspects = new Map<string, string>();
      names.forEach((uco, i) => {
        const local = this.byUco.get(uco);
        if (local !== before.get(uco) || local?.pid !== pids.get(uco) || this.registering.has(uco)) return;
        const row = own[i] ?? null;
        if (local === undefined) {
          if (row === null || !row.startsWith(`${me}|`)) return;
          // A row of this node that no connection holds: it leaves (fenced by its gen).
          const [, conn, gen] = row.split('|') as [string, string, string];
          if (this.locals.has(Number(conn))) return;
          this.reconciled++;
          this.sendLeave([conn, gen, uco, 'transport closed']);
          return;
        }
        if (row === null) {
          // The row vanished: this node was reaped (its lease lapsed) or Redis restarted,
          // and the renewal that tells it may not have come yet. Its clients take their
          // registrations back at the next renewal.
          this.reconciled++;
          this.reclaimPending = true;
          return;
        }
        if (row !== `${me}|${local.seat.id}|${local.gen}`) {
          this.reconciled++;
          this.context.sink.kicked(local.seat);
          return;
        }
        const pair = peer[i] ?? null;
        if (pair === null && local.pid !== undefined) {
          // The pair ended and its notice never came.
          this.reconciled++;
          this.unpairLocally(local, 'repaired');
          this.join(local);
        } else if (pair === null && free[i] !== 1 && !this.joins.has(local)) {
          // Neither paired nor waiting: offered again.
          this.reconciled++;
          this.join(local);
        } else if (pair !== null && local.pid === undefined) {
          // Redis holds a pair this node never heard of. Its notice may still be on the
          // way (the inbox is another socket): ended only when two rounds see it.
          const pid = pair.slice(0, pair.indexOf('|'));
          if (this.suspects.get(uco) !== pid) suspects.set(uco, pid);
          else {
            this.reconciled++;
            this.unpair(local, pid);
          }
        }
      });
      this.suspects = suspects;
    } finally {
      this.reconciling = false;
    }
  }

  // ── epochs (the leader only) ────────────────────────────────────────────────

  /** The leader's timer for the next boundary, `due` ms from now (Redis time). */
  private scheduleEpoch(due: number): void {
    if (this.epochTimer !== undefined || this.stopping || due > this.settings.beatMs) return;
    this.epochTimer = this.clock.setTimeout(() => {
      this.epochTimer = undefined;
      this.runEpoch(false);
    }, Math.max(0, due));
  }

  /**
   * PROTOCOL §6 epoch, cluster-wide: begin (fenced), snapshot, plan in JS (random order,
   * no repeat of the previous peer where avoidable), commit in chunks (each validated
   * and fenced), then the clients left out pair with a free client or become free.
   */
  private runEpoch(now: boolean): void {
    if (this.epochRunning) return;
    this.epochRunning = true;
    this.epochSteps(now)
      .catch((error: unknown) => this.failed('epoch', error))
      .finally(() => {
        this.epochRunning = false;
      });
  }

  private async epochSteps(now: boolean): Promise<void> {
    const me = this.settings.nodeId;
    const begun = (await this.run('epochBegin', me, [String(this.context.options.epochMs), now ? '1' : '0'])) as [number, number?];
    const n = Number(begun[0]);
    const time = Number(begun[1]);
    if (n === 0) return;
    const cmd = this.cmd as AnyRedisClient;
    // The snapshot in pages (HSCAN), not one HGETALL that would hold Redis for ~10 ms at
    // 50 000 clients; rows that change meanwhile are caught by epochCommit's checks.
    const [own, peer, nodes] = await Promise.all([
      this.scanHash(`${this.prefix}own`),
      this.scanHash(`${this.prefix}peer`),
      cmd.sendCommand(['ZRANGEBYSCORE', `${this.prefix}nodes`, String(time), '+inf']),
    ]);
    const live = new Set(Array.isArray(nodes) ? nodes.map(String) : []);
    const rows = new Map<string, string>();
    for (const [u, row] of own) if (live.has(row.slice(0, row.indexOf('|')))) rows.set(u, row);
    const previous = new Map<string, string>();
    for (const [u, row] of peer) previous.set(u, row.slice(row.indexOf('|') + 1));
    const clients = [...rows.keys()];
    const pairs = planEpoch(clients, (u) => previous.get(u), this.context.random);
    const leftOut = clients.length % 2 === 1 ? [clients[clients.length - 1] as string] : [];
    for (let i = 0; i === 0 || i < pairs.length; i += EPOCH_CHUNK) {
      const args = [String(n), i === 0 ? String(clients.length) : ''];
      for (const [a, b] of pairs.slice(i, i + EPOCH_CHUNK)) args.push(a, rows.get(a) as string, b, rows.get(b) as string);
      const left = (await this.run('epochCommit', me, args)) as Array<string | number>;
      if (left[0] === -1) return; // deposed: another leader runs the epochs now
      for (const u of left) leftOut.push(String(u));
    }
    await this.run('epochFinish', me, [String(n), ...leftOut]);
    log('node %s ran epoch %d: %d clients, %d pairs planned', me, n, clients.length, pairs.length);
  }

  /** Every field of hash `key`, read in HSCAN pages of {@link SNAPSHOT_PAGE}. */
  private async scanHash(key: string): Promise<Map<string, string>> {
    const cmd = this.cmd as AnyRedisClient;
    const out = new Map<string, string>();
    let cursor = '0';
    do {
      const reply = (await cmd.sendCommand(['HSCAN', key, cursor, 'COUNT', String(SNAPSHOT_PAGE)])) as unknown;
      if (!Array.isArray(reply) || reply.length < 2) throw new Error(`HSCAN ${key}: unexpected reply`);
      cursor = String(reply[0]);
      for (const [field, value] of entries(reply[1])) out.set(field, value);
    } while (cursor !== '0');
    return out;
  }

  private async reap(node: string): Promise<void> {
    let result: unknown;
    do result = await this.run('reap', node, [String(this.settings.graceMs), '0']);
    while (result === 1 && !this.stopping);
    if (result === 0) {
      this.reaped++;
      log('node %s reaped node %s', this.settings.nodeId, node);
    }
  }

  /**
   * The lease lapsed (Redis restarted empty, or was unreachable longer than `nodeTtlMs`,
   * or this node was reaped meanwhile): every client of this node takes its registration
   * back, in chunks of {@link RECLAIM_CHUNK}, a local pair with its two sides in one
   * chunk. A client whose row is still there keeps it; one whose row is gone gets it back
   * and stays connected — a pair on this node is kept without a word to its clients, a
   * client whose pair crossed nodes is paired again; one taken over meanwhile is closed
   * (`new session`). Until every chunk is done, reconcile waits; a chunk that fails is
   * tried again at the next renewal.
   */
  private async reclaim(): Promise<void> {
    const partner = new Map<Local, Local>();
    const chunks: Local[][] = [[]];
    for (const local of this.byUco.values()) {
      if (partner.has(local)) continue;
      const peer = local.seat.peer;
      const other = peer !== undefined && !('send' in peer) ? this.locals.get((peer as Seat).id) : undefined;
      const unit = other !== undefined && other.pid === local.pid && this.byUco.get(other.uco) === other ? [local, other] : [local];
      if (unit.length === 2) {
        partner.set(local, unit[1] as Local);
        partner.set(unit[1] as Local, local);
      }
      let chunk = chunks[chunks.length - 1] as Local[];
      if (chunk.length + unit.length > RECLAIM_CHUNK) chunks.push((chunk = []));
      chunk.push(...unit);
    }
    for (const chunk of chunks) {
      if (chunk.length > 0 && !(await this.reclaimChunk(chunk, partner))) return;
    }
    this.reclaimPending = false;
    log('node %s: lease lapsed, %d clients took their registrations back', this.settings.nodeId, this.byUco.size);
  }

  /** One reclaim script; false when the lease is not held (tried again at the next renewal). */
  private async reclaimChunk(chunk: readonly Local[], partner: ReadonlyMap<Local, Local>): Promise<boolean> {
    const sent = new Map(chunk.map((local) => [local, local.pid] as const));
    const args = [String(this.highestSeq)];
    for (const local of chunk) args.push(local.uco, String(local.seat.id), local.gen, partner.get(local)?.uco ?? '');
    const reply = (await this.run('reclaim', this.settings.nodeId, args)) as Array<number | string>;
    if (reply[0] === -1) return false;
    const still = (local: Local): boolean => this.locals.get(local.seat.id) === local;
    const restored = new Set<Local>();
    for (let i = chunk.length; i + 1 < reply.length; i += 2) {
      const a = chunk.find((local) => local.uco === String(reply[i])) as Local;
      const b = partner.get(a) as Local;
      const pid = Number(reply[i + 1]);
      this.highestSeq = Math.max(this.highestSeq, pid);
      restored.add(a).add(b);
      this.reclaimed += 2;
      if (still(a) && still(b) && a.pid !== undefined && a.pid === sent.get(a) && b.pid === a.pid) {
        // The pair goes on under its new pid; its clients notice nothing.
        a.pid = pid;
        b.pid = pid;
      } else {
        // The view changed meanwhile (a notice, a leave): Redis's pair ends too.
        this.unpair(a, pid);
      }
    }
    chunk.forEach((local, i) => {
      if (restored.has(local) || !still(local)) return;
      const status = Number(reply[i]);
      if (status === 0) {
        this.context.sink.kicked(local.seat);
      } else if (status === 2) {
        this.reclaimed++;
        this.unpairLocally(local, 'repaired');
        this.join(local);
      }
    });
    return true;
  }

  // ── Redis calls ─────────────────────────────────────────────────────────────

  /** Runs a script (EVALSHA, then EVAL when Redis lost it). `node` picks the `byn:` key. */
  private async run(name: ScriptName, node: string, args: string[]): Promise<unknown> {
    const cmd = this.cmd;
    if (cmd === undefined) throw new Unavailable('not connected');
    const keys = [...this.keys, `${this.prefix}byn:${node}`];
    const argv = [this.inboxPrefix, node, ...args];
    try {
      return await cmd.sendCommand(['EVALSHA', this.shas.get(name) as string, String(keys.length), ...keys, ...argv]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return cmd.sendCommand(['EVAL', SCRIPTS[name], String(keys.length), ...keys, ...argv]);
    }
  }

  /** `call`, or {@link Unavailable} after `clusterWaitMs`. */
  private within<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => reject(new Unavailable(`no answer from Redis in ${this.settings.clusterWaitMs} ms`)), this.settings.clusterWaitMs);
      call.then(
        (value) => {
          this.clock.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          this.clock.clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private failed(what: string, error: unknown): void {
    this.redisErrors++;
    if (log.enabled) log('node %s: %s failed: %s', this.settings.nodeId, what, error instanceof Error ? error.message : String(error));
  }
}
