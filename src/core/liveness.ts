/**
 * The liveness tracker (PROTOCOL §5): pings every `pingIntervalMs`, finds clients
 * whose last pong is `deadAfterMs` old, and connections that did not register within
 * `registerTimeoutMs`. No per-client timers: one ping ticker and one deadline timer;
 * no per-client map: the deadline lists run through the connections' own fields.
 *
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';
import type { Connection } from './connection.js';
import type { Engine } from './engine.js';
import type { ResolvedOptions } from './options.js';

/** Which deadline list a connection is on (see {@link LivenessTracker}): none, registered, unregistered. */
export type LivenessList = 0 | 1 | 2;
/** On no deadline list. */
const NONE = 0;
/** Registered: dead `deadAfterMs` after its last pong. */
const REGISTERED = 1;
/** Not registered yet: closed `registerTimeoutMs` after it opened. */
const UNREGISTERED = 2;

/** The fields the tracker keeps on each connection: no map entry, no allocation per pong. */
export interface LivenessNode {
  /** The list it is on. */
  liveList: LivenessList;
  /** Registered: time of the last pong (or registration); unregistered: time it opened. */
  liveAt: number;
  /** Neighbours on its list, oldest first. */
  livePrev: LivenessNode | undefined;
  liveNext: LivenessNode | undefined;
}

/** A list of {@link LivenessNode}s ordered by `liveAt`, oldest first. */
class DeadlineList {
  head: LivenessNode | undefined = undefined;
  tail: LivenessNode | undefined = undefined;
  size = 0;

  constructor(readonly kind: LivenessList) {}

  append(node: LivenessNode, at: number): void {
    node.liveList = this.kind;
    node.liveAt = at;
    node.livePrev = this.tail;
    node.liveNext = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.liveNext = node;
    this.tail = node;
    this.size++;
  }

  remove(node: LivenessNode): void {
    const { livePrev, liveNext } = node;
    if (livePrev === undefined) this.head = liveNext;
    else livePrev.liveNext = liveNext;
    if (liveNext === undefined) this.tail = livePrev;
    else liveNext.livePrev = livePrev;
    node.livePrev = undefined;
    node.liveNext = undefined;
    node.liveList = NONE;
    this.size--;
  }
}

/**
 * Deadlines are kept in two lists threaded through the connections themselves, whose
 * head is always the earliest: a pong moves its client to the tail (its deadline is
 * now the latest), and connections are added in time order. A check therefore only
 * looks at the heads. Nothing is allocated per client or per pong.
 */
export class LivenessTracker {
  /** Registered connections, by time of last pong (or registration), oldest first. */
  private readonly lastSeen = new DeadlineList(REGISTERED);
  /** Unregistered connections, by time they opened, oldest first. */
  private readonly unregistered = new DeadlineList(UNREGISTERED);
  private pingTimer: TimerHandle | undefined;
  private deadlineTimer: TimerHandle | undefined;
  private deadlineAt = Infinity;
  private nextPingAt = 0;

  private readonly clock: Clock;
  private readonly timing: ResolvedOptions;

  constructor(private readonly engine: Engine) {
    this.clock = engine.clock;
    this.timing = engine.options;
  }

  /** Whether the timers run. */
  get running(): boolean {
    return this.pingTimer !== undefined;
  }

  /** Starts pinging and checking deadlines. */
  start(): void {
    this.nextPingAt = this.clock.now() + this.timing.pingIntervalMs;
    this.pingTimer = this.clock.setTimeout(() => this.onPingTimer(), this.timing.pingIntervalMs);
    this.armDeadline();
  }

  /** Cancels every timer. */
  stop(): void {
    if (this.pingTimer !== undefined) this.clock.clearTimeout(this.pingTimer);
    if (this.deadlineTimer !== undefined) this.clock.clearTimeout(this.deadlineTimer);
    this.pingTimer = undefined;
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
  }

  /** A connection opened (or left the registry): it must register within `registerTimeoutMs` of `at`. */
  opened(conn: Connection, at: number): void {
    this.forget(conn);
    this.unregistered.append(conn, at);
    this.armDeadline();
  }

  /** A connection registered (or re-registered): alive from now. */
  registered(conn: Connection): void {
    this.forget(conn);
    this.lastSeen.append(conn, this.clock.now());
    this.armDeadline();
  }

  /** A registered connection answered a ping (PROTOCOL §3 pong). */
  pong(conn: Connection): void {
    if (conn.liveList !== REGISTERED) return;
    // Move to the tail so that the list stays ordered by last pong.
    this.lastSeen.remove(conn);
    this.lastSeen.append(conn, this.clock.now());
  }

  /** A connection closed: forget it. */
  forget(conn: Connection): void {
    if (conn.liveList === REGISTERED) this.lastSeen.remove(conn);
    else if (conn.liveList === UNREGISTERED) this.unregistered.remove(conn);
  }

  /** Connections tracked (registered + waiting to register). */
  get size(): number {
    return this.lastSeen.size + this.unregistered.size;
  }

  /**
   * PROTOCOL §5: false once a registered connection's last pong (or registration) is
   * `deadAfterMs` old, even before the deadline timer has closed it (a timer due at
   * the same instant, or late). Untracked connections (core not started) are alive.
   */
  isAlive(conn: Connection): boolean {
    return conn.liveList !== REGISTERED || this.clock.now() - conn.liveAt < this.timing.deadAfterMs;
  }

  /** Time of the last pong (or registration) of a registered connection. */
  lastSeenAt(conn: Connection): number | undefined {
    return conn.liveList === REGISTERED ? conn.liveAt : undefined;
  }

  private onPingTimer(): void {
    this.nextPingAt += this.timing.pingIntervalMs;
    this.pingTimer = this.clock.setTimeout(
      () => this.onPingTimer(),
      Math.max(0, this.nextPingAt - this.clock.now()),
    );
    this.engine.pingAll();
  }

  /** Earliest deadline among the heads of both maps. */
  private earliestDeadline(): number {
    const seen = this.lastSeen.head;
    const opened = this.unregistered.head;
    const dead = seen === undefined ? Infinity : seen.liveAt + this.timing.deadAfterMs;
    return opened === undefined ? dead : Math.min(dead, opened.liveAt + this.timing.registerTimeoutMs);
  }

  /** (Re)arms the deadline timer if the earliest deadline is sooner than the armed one. */
  private armDeadline(): void {
    if (!this.running) return;
    const at = this.earliestDeadline();
    if (at >= this.deadlineAt) return;
    if (this.deadlineTimer !== undefined) this.clock.clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    if (at === Infinity) {
      this.deadlineTimer = undefined;
      return;
    }
    this.deadlineTimer = this.clock.setTimeout(() => this.onDeadline(), Math.max(0, at - this.clock.now()));
  }

  private onDeadline(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const now = this.clock.now();
    // PROTOCOL §5: dead when the last pong is deadAfterMs old.
    for (let conn = this.lastSeen.head; conn !== undefined && now - conn.liveAt >= this.timing.deadAfterMs; conn = this.lastSeen.head) {
      this.lastSeen.remove(conn);
      this.engine.close(conn as Connection, 'timeout');
    }
    // PROTOCOL §5: register timeout.
    for (let conn = this.unregistered.head; conn !== undefined && now - conn.liveAt >= this.timing.registerTimeoutMs; conn = this.unregistered.head) {
      this.unregistered.remove(conn);
      this.engine.close(conn as Connection, 'register timeout');
    }
    this.armDeadline();
  }
}
