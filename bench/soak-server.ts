/**
 * The soak's server, run as a child process of bench/soak.ts (so its RSS is its own):
 * a {@link RouletteCore} on a counting clock behind {@link listen} on 127.0.0.1:0.
 * Talks to its parent over the IPC channel: sends `{ port }` once listening; answers
 * `"report"` with a {@link SoakServerReport}; on `"stop"` closes the server, stops the
 * core and answers a final report, then exits.
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { listen, RouletteCore, seededRandom, systemClock, type Clock, type RouletteStats, type TimerHandle } from '../src/index.js';

/** What the server reports to the soak. */
export interface SoakServerReport {
  /** Kind of message. */
  readonly kind: 'report';
  /** The core's counters. */
  readonly stats: RouletteStats;
  /** Live timers of the core's clock (drain timers of the stream adapter included). */
  readonly timers: number;
  /** Open sockets of the TCP server. */
  readonly sockets: number;
  /** RSS after a GC, bytes. */
  readonly rss: number;
  /** Uncaught exceptions and unhandled rejections in the server process. */
  readonly unhandled: number;
}

/** A clock that counts its live timers (scheduled, not yet fired or cleared). */
class CountingClock implements Clock {
  private readonly live = new Set<TimerHandle>();
  now(): number {
    return systemClock.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = systemClock.setTimeout(() => {
      this.live.delete(handle);
      fn();
    }, ms);
    this.live.add(handle);
    return handle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.live.delete(handle);
    systemClock.clearTimeout(handle);
  }
  get timers(): number {
    return this.live.size;
  }
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as (() => void) | undefined)?.();
}

let unhandled = 0;
process.on('uncaughtException', (error) => {
  unhandled++;
  console.error('soak-server: uncaught exception:', error);
});
process.on('unhandledRejection', (error) => {
  unhandled++;
  console.error('soak-server: unhandled rejection:', error);
});

const clock = new CountingClock();
const core = new RouletteCore({
  clock,
  random: seededRandom(process.argv[2] ?? 'soak'),
  pingIntervalMs: 500,
  deadAfterMs: 2_500,
  registerTimeoutMs: 2_500,
  epochMs: 4_000,
  pairDelayMs: 50,
  rateLimit: 50,
  rateBurst: 100,
  maxBufferedBytes: 256 * 1024,
});
core.start();
// Longer than a client's pause in reading (1.5 s): a slow consumer reads the exit line that says why it was cut.
const server = await listen(core, { host: '127.0.0.1', port: 0, drainTimeoutMs: 3_000 });

function report(): SoakServerReport {
  gc();
  return { kind: 'report', stats: core.stats(), timers: clock.timers, sockets: server.connections, rss: process.memoryUsage().rss, unhandled };
}

process.on('message', (message: unknown) => {
  if (message === 'report') process.send?.(report());
  else if (message === 'stop') {
    void server.close().then(() => {
      core.stop();
      setTimeout(() => {
        process.send?.(report(), () => process.disconnect());
      }, 50);
    });
  }
});
process.send?.({ kind: 'listening', port: server.address().port });
