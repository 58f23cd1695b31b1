/**
 * Epoch re-pairing, in process: a {@link RouletteCore} on a {@link ManualClock} with
 * N registered clients on no-op transports, timing `core.nextEpoch()` (PROTOCOL §6:
 * dissolve every pair, pair everyone at random avoiding repeats, tell both sides).
 * The transports drop what they are sent, so this is the core's own cost.
 *
 * @module
 */
import { ManualClock, RouletteCore, seededRandom, type Transport } from '../src/index.js';
import { spread, type Spread } from './stats.js';

/** What one epoch point measured. */
export interface EpochResult {
  readonly clients: number;
  /** `nextEpoch()` duration over the repetitions, ms. */
  readonly ms: Spread;
  readonly repetitions: number;
  /** `pair` lines sent per epoch (should be clients, or clients − 1 when odd). */
  readonly pairLinesPerEpoch: number;
}

/** Registers `clients` clients and times `repetitions` epochs after `warmup` untimed ones. */
export function epochRun(clients: number, repetitions: number, warmup: number): EpochResult {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, random: seededRandom('bench'), maxClients: Infinity, epochMs: 3_600_000 });
  core.start();
  let sent = 0;
  const transport: Transport = {
    send: () => {
      sent++;
      return true;
    },
    close: () => undefined,
  };
  for (let i = 0; i < clients; i++) {
    const handle = core.connect(transport);
    handle.receiveLine(`{"cmd":"connect","uco":"e${i}","nonce":${i}}`);
  }
  if (core.stats().clients !== clients) throw new Error(`only ${core.stats().clients} of ${clients} registered`);
  for (let i = 0; i < warmup; i++) core.nextEpoch();
  const times: number[] = [];
  let pairLines = 0;
  for (let i = 0; i < repetitions; i++) {
    const before = sent;
    const t0 = process.hrtime.bigint();
    core.nextEpoch();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    pairLines = sent - before;
  }
  core.stop();
  return { clients, ms: spread(times), repetitions, pairLinesPerEpoch: pairLines };
}
