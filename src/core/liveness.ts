/**
 * The liveness tracker (PROTOCOL §5): pings every `pingIntervalMs`, finds clients
 * whose last pong is `deadAfterMs` old, and connections that did not register within
 * `registerTimeoutMs`. No per-client timers: one ping ticker and one deadline timer.
 *
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';
import type { Connection } from './connection.js';
import type { Engine } from './engine.js';
import type { ResolvedOptions } from './options.js';

/**
 * Deadlines are kept in two insertion-ordered maps whose first entry is always the
 * earliest: a pong moves its client to the end (its deadline is now the latest), and
 * connections are added in time order. A check therefore only looks at the heads.
 */
export class LivenessTracker {
  /** Registered connections → time of last pong (or registration), oldest first. */
  private readonly lastSeen = new Map<Connection, number>();
  /** Unregistered connections → time they opened, oldest first. */
  private readonly unregistered = new Map<Connection, number>();
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
    this.lastSeen.delete(conn);
    this.unregistered.set(conn, at);
    this.armDeadline();
  }

  /** A connection registered (or re-registered): alive from now. */
  registered(conn: Connection): void {
    this.unregistered.delete(conn);
    this.lastSeen.delete(conn);
    this.lastSeen.set(conn, this.clock.now());
    this.armDeadline();
  }

  /** A registered connection answered a ping (PROTOCOL §3 pong). */
  pong(conn: Connection): void {
    if (!this.lastSeen.has(conn)) return;
    // Re-insert so that the map stays ordered by last pong.
    this.lastSeen.delete(conn);
    this.lastSeen.set(conn, this.clock.now());
  }

  /** A connection closed: forget it. */
  forget(conn: Connection): void {
    this.lastSeen.delete(conn);
    this.unregistered.delete(conn);
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
    const seen = this.lastSeen.get(conn);
    return seen === undefined || this.clock.now() - seen < this.timing.deadAfterMs;
  }

  /** Time of the last pong (or registration) of a registered connection. */
  lastSeenAt(conn: Connection): number | undefined {
    return this.lastSeen.get(conn);
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
    let at = Infinity;
    for (const seen of this.lastSeen.values()) {
      at = seen + this.timing.deadAfterMs;
      break;
    }
    for (const opened of this.unregistered.values()) {
      at = Math.min(at, opened + this.timing.registerTimeoutMs);
      break;
    }
    return at;
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
    for (const [conn, seen] of this.lastSeen) {
      if (now - seen < this.timing.deadAfterMs) break;
      this.lastSeen.delete(conn);
      this.engine.close(conn, 'timeout');
    }
    // PROTOCOL §5: register timeout.
    for (const [conn, opened] of this.unregistered) {
      if (now - opened < this.timing.registerTimeoutMs) break;
      this.unregistered.delete(conn);
      this.engine.close(conn, 'register timeout');
    }
    this.armDeadline();
  }
}
