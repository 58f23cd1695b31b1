/**
 * The relay generator: P sender→receiver pairs, each sender keeping at most W
 * messages in flight. The generator holds both ends of every pair, so "in flight" is
 * simply sent − received, counted in this process: no acknowledgements cross the
 * wire, the traffic measured is one-way. The same code drives our server and the
 * baseline relay; only the setup (register and wait for `pair`, or read the
 * baseline's `pair` line) differs.
 *
 * Each line is `{"cmd":"comm","s":<seq>,"t":<ns since run start>,"p":"xxx…"}` padded
 * to exactly `payload` bytes including its `\n`.
 *
 * Two ways to offer load: **saturation** (`rate` 0: each sender refills its window as
 * soon as its receiver reads, a closed loop) and **paced** (`rate` > 0: lines/s in
 * total, spread over the senders on a 2 ms tick, an open loop; a sender never holds
 * more than a cap in flight, and lines it could not send are counted as not
 * offered; the cap is {@link PACED_MAX_IN_FLIGHT} lines and 1 MiB).
 * The server's CPU per relayed line comes from the OS
 * (`/proc/<pid>/stat` utime + stime over the measured window) divided by the lines
 * delivered in that window.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { cpuSeconds, machineBusyPct, machineJiffies } from './processes.js';
import { BenchClient, openClient, pool, until } from './client.js';
import { percentiles } from './stats.js';

/** Which server a run drives. */
export type ServerKind = 'ours' | 'baseline';

/** A running server to drive. */
export interface RelayTarget {
  readonly kind: ServerKind;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /**
   * Opens the 2P clients and returns each pair as [sender, receiver], once both know
   * their peer (default: all on host:port, paired by the server as it likes). A
   * cluster bench places the two ends on chosen nodes this way.
   */
  readonly connect?: (pairs: number, tag: string) => Promise<ReadonlyArray<readonly [BenchClient, BenchClient]>>;
  /** The processes whose CPU counts as the server's (default: [pid]). */
  readonly cpuPids?: readonly number[];
  /** Another process whose CPU per line is reported on its own (e.g. Redis), if any. */
  readonly auxPid?: number;
}

/** One point of the relay scenario. */
export interface RelayParams {
  /** Sender→receiver pairs. */
  readonly pairs: number;
  /** Bytes per line, `\n` included. */
  readonly payload: number;
  /** Most unacknowledged (sent, not yet received) messages per sender. */
  readonly window: number;
  /** Traffic before measuring starts, ms. */
  readonly warmupMs: number;
  /** Measured window, ms. */
  readonly measureMs: number;
  /** Longest wait for in-flight messages after sending stops, ms. */
  readonly drainMs: number;
  /** Offered load in lines/s over all pairs (paced), or 0 for saturation. */
  readonly rate: number;
  /** Called once every pair carries traffic (for a flood that others wait for). */
  readonly onFlowing?: () => void;
}

/** What one run measured. */
export interface RelayRunResult {
  /** Messages received during the measured window. */
  readonly delivered: number;
  /** Length of the measured window, s. */
  readonly seconds: number;
  readonly msgsPerSec: number;
  /** Payload megabytes (10^6 B) per second delivered. */
  readonly mbPerSec: number;
  /** Send→receive latency percentiles of messages received in the window, µs. */
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  /** Offered load (lines/s), 0 for saturation. */
  readonly rate: number;
  /** Paced mode: lines due that a sender could not send (its in-flight cap was reached), whole run. */
  readonly shed: number;
  /** Server CPU time per line delivered in the window, µs (OS user + system time). */
  readonly serverCpuUsPerLine: number;
  /** The {@link RelayTarget.auxPid} process's CPU time per line delivered in the window, µs (NaN without one). */
  readonly auxCpuUsPerLine: number;
  /** Whole-run totals (warm-up and drain included). */
  readonly sent: number;
  readonly received: number;
  /** sent − received after the drain: must be 0. */
  readonly lost: number;
  /** Lines received out of sequence, or not of the size sent. */
  readonly outOfOrder: number;
  readonly corrupt: number;
  /** Error or exit lines the clients got. */
  readonly errors: number;
  /** Server CPU use during the window, % of one core. */
  readonly serverCpuPct: number;
  /** Generator (this process) CPU use during the window, % of one core. */
  readonly generatorCpuPct: number;
  /** Whole-machine CPU use during the window, % of one core (all processes, softirq included). */
  readonly machineCpuPct: number;
  /** Latency samples dropped because the sample buffer was full. */
  readonly samplesDropped: number;
}

interface Flow {
  readonly sender: BenchClient;
  readonly receiver: BenchClient;
  sent: number;
  received: number;
  expectSeq: number;
}

const HEAD = '{"cmd":"comm","s":';
const SEQ_AT = HEAD.length;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
/** `,"t":` between the two numbers. */
const T_GAP = 5;
const MAX_SAMPLES = 4_000_000;
/** Paced mode: most lines one sender may have in flight (beyond it, due lines are not sent)… */
export const PACED_MAX_IN_FLIGHT = 1_024;
/** …and at most this many bytes, so that long lines do not pile up megabytes. */
const PACED_MAX_IN_FLIGHT_BYTES = 1 << 20;
/** Paced mode: the sending tick, ms. */
const PACE_TICK_MS = 2;
let samples: Float64Array | undefined;
let runCounter = 0;
/** The machine's CPUs (read before this process pins itself to fewer). */
const CPUS = availableParallelism();

/** Reads the decimal number starting at `at`; returns it and the index after it. */
function readNumber(line: Buffer, at: number): [number, number] {
  let value = 0;
  let i = at;
  for (; i < line.length; i++) {
    const b = line[i] as number;
    if (b < ZERO || b > NINE) break;
    value = value * 10 + (b - ZERO);
  }
  return [value, i];
}

/** Opens the 2P clients and returns the flows once every client knows its peer. */
async function setUp(target: RelayTarget, pairs: number, tag: string): Promise<Flow[]> {
  if (target.connect !== undefined) {
    return (await target.connect(pairs, tag)).map(([sender, receiver]) => ({ sender, receiver, sent: 0, received: 0, expectSeq: 0 }));
  }
  const count = 2 * pairs;
  let clients: BenchClient[];
  if (target.kind === 'ours') {
    clients = await pool(count, 32, async (i) => {
      const c = await openClient(target.host, target.port, 10_000);
      c.uco = `${tag}n${i}`;
      c.send({ cmd: 'connect', uco: c.uco, nonce: i });
      return c;
    });
  } else {
    // The baseline pairs in order of arrival: connect one at a time.
    clients = [];
    for (let i = 0; i < count; i++) clients.push(await openClient(target.host, target.port, 10_000));
  }
  try {
    await until(() => clients.every((c) => c.peer !== undefined && c.uco !== ''), 15_000, `${count} clients to be paired`);
  } catch (err) {
    const stuck = clients.filter((c) => c.peer === undefined);
    for (const c of clients) c.close();
    throw new Error(`${(err as Error).message} (${stuck.length} unpaired; last problem: ${stuck[0]?.lastProblem ?? '-'})`);
  }
  const byUco = new Map(clients.map((c, i) => [c.uco, i] as const));
  const flows: Flow[] = [];
  clients.forEach((c, i) => {
    const j = byUco.get(c.peer as string);
    if (j === undefined) throw new Error(`client ${c.uco} paired with unknown ${String(c.peer)}`);
    if (i < j) flows.push({ sender: c, receiver: clients[j] as BenchClient, sent: 0, received: 0, expectSeq: 0 });
  });
  if (flows.length !== pairs) {
    for (const c of clients) c.close();
    throw new Error(`expected ${pairs} pairs, got ${flows.length}`);
  }
  return flows;
}

/** Runs one relay measurement against `target`. */
export async function relayRun(target: RelayTarget, p: RelayParams): Promise<RelayRunResult> {
  const tag = `r${process.pid % 10000}x${runCounter++}`;
  const flows = await setUp(target, p.pairs, tag);
  samples ??= new Float64Array(MAX_SAMPLES);
  const buf = samples;
  const pad = 'x'.repeat(p.payload);
  const t0 = process.hrtime.bigint();
  const nowNs = (): number => Number(process.hrtime.bigint() - t0);

  let sending = true;
  let measuring = false;
  let nSamples = 0;
  let dropped = 0;
  let receivedTotal = 0;
  let outOfOrder = 0;
  let corrupt = 0;

  const lineOf = (seq: number, t: number): string => {
    const head = `${HEAD}${seq},"t":${t},"p":"`;
    return head + pad.slice(0, Math.max(0, p.payload - head.length - 3)) + '"}\n';
  };
  /** Saturation: tops the sender's window up. */
  const fill = (f: Flow): void => {
    if (p.rate > 0) return;
    const n = p.window - (f.sent - f.received);
    if (!sending || n <= 0) return;
    const t = nowNs();
    let text = '';
    for (let k = 0; k < n; k++) text += lineOf(f.sent + k, t);
    f.sent += n;
    f.sender.write(text);
  };
  const maxInFlight = Math.min(PACED_MAX_IN_FLIGHT, Math.max(16, Math.floor(PACED_MAX_IN_FLIGHT_BYTES / p.payload)));
  /** Paced: every tick, the lines due since the start, round robin over the senders. */
  let due = 0;
  let notOffered = 0;
  let next = 0;
  const pace = (): void => {
    if (!sending) return;
    const t = nowNs();
    const target = Math.floor((t / 1e9) * p.rate);
    let owed = target - due;
    due = target;
    const share = Math.ceil(owed / flows.length);
    for (let k = 0; k < flows.length && owed > 0; k++) {
      const f = flows[next] as Flow;
      next = (next + 1) % flows.length;
      const want = Math.min(share, owed);
      owed -= want;
      const n = Math.min(want, maxInFlight - (f.sent - f.received));
      if (n < want) notOffered += want - Math.max(0, n);
      if (n <= 0) continue;
      let text = '';
      for (let j = 0; j < n; j++) text += lineOf(f.sent + j, t);
      f.sent += n;
      f.sender.write(text);
    }
  };

  for (const f of flows) {
    f.receiver.onComm = (line) => {
      const [seq, afterSeq] = readNumber(line, SEQ_AT);
      const [t] = readNumber(line, afterSeq + T_GAP);
      f.received++;
      receivedTotal++;
      if (seq !== f.expectSeq) outOfOrder++;
      f.expectSeq = seq + 1;
      if (line.length !== p.payload - 1 || line[afterSeq] !== COMMA) corrupt++;
      if (measuring) {
        if (nSamples < buf.length) buf[nSamples++] = (nowNs() - t) / 1_000;
        else dropped++;
      }
    };
    f.receiver.afterChunk = () => fill(f);
  }

  for (const f of flows) fill(f);
  const pacer = p.rate > 0 ? setInterval(pace, PACE_TICK_MS) : undefined;
  p.onFlowing?.();

  const deadline = Date.now() + p.warmupMs + p.measureMs + p.drainMs + 30_000;
  await new Promise((resolve) => setTimeout(resolve, p.warmupMs));
  const cpuPids = target.cpuPids ?? [target.pid];
  const serverCpu = (): number => cpuPids.reduce((a, pid) => a + cpuSeconds(pid), 0);
  const auxCpu = (): number => (target.auxPid === undefined ? NaN : cpuSeconds(target.auxPid));
  const cpu0 = serverCpu();
  const aux0 = auxCpu();
  const box0 = machineJiffies();
  const self0 = process.cpuUsage();
  const rec0 = receivedTotal;
  const tStart = nowNs();
  measuring = true;
  await new Promise((resolve) => setTimeout(resolve, p.measureMs));
  measuring = false;
  const tEnd = nowNs();
  const rec1 = receivedTotal;
  const cpu1 = serverCpu();
  const aux1 = auxCpu();
  const self1 = process.cpuUsage(self0);
  const box1 = machineJiffies();
  sending = false;
  if (pacer !== undefined) clearInterval(pacer);

  await until(() => flows.every((f) => f.received === f.sent) || Date.now() > deadline, p.drainMs, 'in-flight messages').catch(
    () => undefined,
  );
  let sent = 0;
  let errors = 0;
  for (const f of flows) {
    sent += f.sent;
    errors += f.sender.counters.errors + f.sender.counters.exits + f.receiver.counters.errors + f.receiver.counters.exits;
    f.sender.close();
    f.receiver.close();
  }

  const seconds = (tEnd - tStart) / 1e9;
  const delivered = rec1 - rec0;
  const [p50, p99, p999, max] = percentiles(buf, nSamples, [0.5, 0.99, 0.999, 1]);
  return {
    delivered,
    seconds,
    msgsPerSec: delivered / seconds,
    mbPerSec: (delivered * p.payload) / seconds / 1e6,
    p50Us: p50 as number,
    p99Us: p99 as number,
    p999Us: p999 as number,
    maxUs: max as number,
    rate: p.rate,
    shed: notOffered,
    serverCpuUsPerLine: delivered === 0 ? NaN : ((cpu1 - cpu0) * 1e6) / delivered,
    auxCpuUsPerLine: delivered === 0 ? NaN : ((aux1 - aux0) * 1e6) / delivered,
    sent,
    received: receivedTotal,
    lost: sent - receivedTotal,
    outOfOrder,
    corrupt,
    errors,
    serverCpuPct: ((cpu1 - cpu0) / seconds) * 100,
    generatorCpuPct: ((self1.user + self1.system) / 1e6 / seconds) * 100,
    machineCpuPct: machineBusyPct(box0, box1, CPUS),
    samplesDropped: dropped,
  };
}
