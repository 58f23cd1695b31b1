/**
 * Server-Sent Events, throttled: however many core events arrive, each open stream
 * gets at most one `state` message per interval, built once for all streams, and
 * only when something changed. A stream whose socket does not drain is skipped
 * (it gets the next state instead), so a slow browser costs no memory.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../core/clock.js';

/** Timing of an {@link SseChannel}. */
export interface SseTiming {
  /** At least this long between two messages, in ms. */
  intervalMs: number;
  /** A comment line on idle streams this often, in ms, so proxies keep them open. */
  heartbeatMs: number;
}

/** The streams of one kind of message, and its throttle. */
export class SseChannel {
  private readonly streams = new Set<ServerResponse>();
  private dirty = true;
  private lastSentAt = -Infinity;
  private timer: TimerHandle | undefined;
  private heartbeat: TimerHandle | undefined;
  private closed = false;
  /** Messages built since creation (each sent to every stream). */
  built = 0;

  /**
   * @param clock - timers of the throttle and the heartbeat.
   * @param timing - see {@link SseTiming}.
   * @param event - the SSE `event:` name.
   * @param build - the message's data (one line of JSON), called at most once per interval.
   */
  constructor(
    private readonly clock: Clock,
    private readonly timing: SseTiming,
    private readonly event: string,
    private readonly build: () => string,
  ) {}

  /** Open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Starts a stream on `res` and sends it the current state at once. */
  add(res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('shutting down\n');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    // A browser reconnects after this long if the stream drops.
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    res.write(this.message(this.build()));
    this.built++;
    this.scheduleHeartbeat();
  }

  /** Something changed: a message goes out within the interval. */
  changed(): void {
    this.dirty = true;
    if (this.timer !== undefined || this.streams.size === 0 || this.closed) return;
    const wait = Math.max(0, this.lastSentAt + this.timing.intervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  /** Ends every stream (after an optional last event) and stops the timers. */
  close(lastEvent?: { event: string; data: string }): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.heartbeat !== undefined) this.clock.clearTimeout(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
    for (const res of this.streams) {
      if (lastEvent !== undefined) res.write(`event: ${lastEvent.event}\ndata: ${lastEvent.data}\n\n`);
      res.end();
    }
    this.streams.clear();
  }

  private flush(): void {
    this.timer = undefined;
    if (!this.dirty || this.streams.size === 0) return;
    this.dirty = false;
    this.lastSentAt = this.clock.now();
    const text = this.message(this.build());
    this.built++;
    for (const res of this.streams) {
      // A stream that has not drained its last message skips this one.
      if (!res.writableNeedDrain) res.write(text);
    }
  }

  private message(data: string): string {
    return `event: ${this.event}\ndata: ${data}\n\n`;
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeat !== undefined) return;
    this.heartbeat = this.clock.setTimeout(() => {
      this.heartbeat = undefined;
      if (this.streams.size === 0) return;
      for (const res of this.streams) if (!res.writableNeedDrain) res.write(': keepalive\n\n');
      this.scheduleHeartbeat();
    }, this.timing.heartbeatMs);
  }
}
