/**
 * Time and timers, injectable so tests drive time explicitly instead of sleeping.
 *
 * @module
 */
import { RouletteError } from './errors.js';

/** An opaque handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Brand: handles are only created by a {@link Clock}. */
  readonly __timer: true;
}

/**
 * The source of time and one-shot timers used by the core. Production uses
 * {@link systemClock}; tests use {@link ManualClock}.
 */
export interface Clock {
  /** Current time in ms (monotonic for {@link systemClock}). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cancelled is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};

interface ManualTimer extends TimerHandle {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire synchronously inside
 * {@link ManualClock.advance}, in order of due time (then of creation), each seeing
 * {@link ManualClock.now} equal to its due time.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const core = new RouletteCore({ clock });
 * core.start();
 * clock.advance(30_000); // one epoch later, synchronously
 * ```
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Set<ManualTimer>();

  /**
   * A clock that stands still until advanced.
   *
   * @param start - the initial value of {@link ManualClock.now}, in ms (default 0).
   */
  constructor(start = 0) {
    this.current = start;
  }

  /** Current manual time in ms. */
  now(): number {
    return this.current;
  }

  /** Schedules `fn` at `now() + ms` (negative delays count as 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { __timer: true, at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return timer;
  }

  /** Cancels a timer. */
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as ManualTimer);
  }

  /** Number of timers scheduled and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way,
   * including timers scheduled by those timers.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RouletteError('ERR_INVALID_ARGUMENT', `advance() needs a non-negative number of ms, got ${ms}`);
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue();
      if (next === undefined || next.at > target) break;
      this.timers.delete(next);
      this.current = next.at;
      next.fn();
    }
    this.current = target;
  }

  /** Clock time at which the earliest pending timer is due, or `undefined` when none is. */
  nextTimerAt(): number | undefined {
    return this.nextDue()?.at;
  }

  /** Fires timers due now (`advance(0)`). */
  flush(): void {
    this.advance(0);
  }

  private nextDue(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
