/**
 * Fairness under flood (issue 14): a quiet pair's round trip (A → server → B, echoed
 * B → server → A, one message at a time) on an otherwise idle server, then while
 * `floodPairs` other pairs flood at saturation. The flood runs in its own process
 * (bench/flood-worker.ts) under `nice -n 19`, so that on the generator's CPU the
 * probe is not queued behind it; the server is pinned to its own CPU as in the relay
 * scenario. Both windows use the same quiet pair on the same server.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { BenchClient, openClient, until } from './client.js';
import { cpuSeconds, schedSeconds, SCRIPT_EXT, sleep, SOURCE_FLAGS, startNode, stopChild, tail, waitForLine, type ServerProcess } from './processes.js';
import { percentiles } from './stats.js';
import type { RelayRunResult } from './relay.js';

const FLOOD = fileURLToPath(new URL(`./flood-worker${SCRIPT_EXT}`, import.meta.url));

/** Round-trip figures of the quiet pair in one window. */
export interface ProbeResult {
  readonly samples: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  /** Server CPU during the window, % of one core. */
  readonly serverCpuPct: number;
  /**
   * Time the server's event loop spent runnable but waiting for its CPU, % of the
   * window (from /proc/<pid>/schedstat): near 0 when the server has its core to itself,
   * so that the quiet pair waits only on the server's own turns.
   */
  readonly serverWaitPct: number;
}

/** One fairness run. */
export interface FairnessResult {
  readonly idle: ProbeResult;
  readonly flooded: ProbeResult;
  /** The flood's own relay figures (msgs/s over its pairs, server CPU). */
  readonly flood: RelayRunResult;
  /** flooded p99 / idle p99. */
  readonly p99Ratio: number;
}

/** Settings of the fairness scenario. */
export interface FairnessParams {
  readonly floodPairs: number;
  readonly floodPayload: number;
  readonly window: number;
  readonly probeMs: number;
  /** taskset CPU list of the generator, or '' (the flood worker runs there too). */
  readonly generatorCpus: string;
}

const PROBE_LINE_PAD = 'q'.repeat(40);

/** Sends one line at a time from A, echoed by B, for `ms`; returns the round trips. */
async function probe(a: BenchClient, b: BenchClient, server: ServerProcess, ms: number): Promise<ProbeResult> {
  const samples = new Float64Array(200_000);
  let n = 0;
  let sentAt = 0n;
  let seq = 0;
  let running = true;
  const send = (): void => {
    if (!running) return;
    sentAt = process.hrtime.bigint();
    a.write(`{"cmd":"comm","s":${seq++},"t":0,"p":"${PROBE_LINE_PAD}"}\n`);
  };
  b.onComm = (line) => b.write(`${line.toString('latin1')}\n`);
  a.onComm = () => {
    if (n < samples.length) samples[n++] = Number(process.hrtime.bigint() - sentAt) / 1_000;
    // A short pause between probes: a steady trickle, not a second flood.
    setTimeout(send, 1);
  };
  const cpu0 = cpuSeconds(server.pid);
  const sched0 = schedSeconds(server.pid);
  const t0 = performance.now();
  send();
  await sleep(ms);
  running = false;
  const cpu1 = cpuSeconds(server.pid);
  const sched1 = schedSeconds(server.pid);
  const seconds = (performance.now() - t0) / 1000;
  await sleep(50);
  const [p50, p99, max] = percentiles(samples, n, [0.5, 0.99, 1]);
  return { samples: n, p50Us: p50 as number, p99Us: p99 as number, maxUs: max as number, serverCpuPct: ((cpu1 - cpu0) / seconds) * 100,
    serverWaitPct: ((sched1.waited - sched0.waited) / seconds) * 100,
  };
}

/** One fairness run on `server` (our server, already started). */
export async function fairnessRun(server: ServerProcess, p: FairnessParams, tag: string): Promise<FairnessResult> {
  const a = await openClient(server.host, server.port, 10_000);
  const b = await openClient(server.host, server.port, 10_000);
  try {
    a.uco = `${tag}qa`;
    b.uco = `${tag}qb`;
    a.send({ cmd: 'connect', uco: a.uco, nonce: 1 });
    b.send({ cmd: 'connect', uco: b.uco, nonce: 2 });
    await until(() => a.peer === b.uco && b.peer === a.uco, 15_000, 'the quiet pair to be paired');
    await probe(a, b, server, 300); // warm-up
    const idle = await probe(a, b, server, p.probeMs);

    const nice = ['nice', '-n', '19'];
    const floodArgs = [
      ...SOURCE_FLAGS,
      FLOOD,
      '--host',
      server.host,
      '--port',
      String(server.port),
      '--pid',
      String(server.pid),
      '--pairs',
      String(p.floodPairs),
      '--payload',
      String(p.floodPayload),
      '--window',
      String(p.window),
      '--ms',
      String(p.probeMs + 1_500),
    ];
    const child = startNode({ nodeArgs: floodArgs, cpus: p.generatorCpus, openFiles: 4_096, stdin: 'ignore', prefix: nice });
    const stderr = tail(child.stderr as NodeJS.ReadableStream);
    try {
      await waitForLine(child, /\{"flowing":true\}/, 30_000, stderr);
      await sleep(500);
      const flooded = await probe(a, b, server, p.probeMs);
      const m = await waitForLine(child, /\{"result".*\}/, 60_000, stderr);
      const flood = (JSON.parse(m[0]) as { result: RelayRunResult }).result;
      return { idle, flooded, flood, p99Ratio: flooded.p99Us / idle.p99Us };
    } finally {
      await stopChild(child);
    }
  } finally {
    a.close();
    b.close();
  }
}
