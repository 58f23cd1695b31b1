/**
 * A bounded chaos soak of the server over loopback: `npm run soak -- --seconds N`
 * (default 60) `[--clients C]` (default 300) `[--seed S]`.
 *
 * The server (bench/soak-server.ts) is a {@link RouletteCore} behind {@link listen}
 * on 127.0.0.1:0 in a child process, so its RSS is its own; it reports its registry,
 * its timers (through a counting clock) and its socket count over IPC. C clients connect, chat, and misbehave at random
 * for N seconds: go silent (stop ponging → `timeout`), drop their socket, reconnect
 * with the same uco on a new connection (takeover → `new session`), flood (hit the
 * rate limit), stop reading for a while (the server's backpressure and slow-consumer
 * limit). Then everyone leaves with `exit`.
 *
 * Definitions (what "no loss" means):
 * - Each `comm` carries `from` (the sender's uco) and `seq` (per sender, over all its
 *   connections). After each batch the sender sends a fence: a repeated `connect`
 *   with a fresh nonce. Its `ack` proves the server processed the batch (one
 *   connection's lines are processed and answered in order).
 * - A `comm` is **accepted** when the sender got no error reply for it AND the fence
 *   after it was acknowledged while the sender's pair session (from its last `pair`
 *   line) was unchanged — so the server processed it while the sender was paired with
 *   the peer named in that `pair` line.
 * - An accepted `comm` must be delivered to that peer, exactly once. It may be
 *   missing only when a connection of that peer that was live between sending and
 *   the fence's ack ended **abruptly**: closed without an exit line it read (it
 *   dropped its socket), or cut as a `slow consumer` (its unsent backlog discarded
 *   before its exit line). A receiver that read another exit line (`timeout`,
 *   `new session`, `client exit`) or a new `pair` line has read everything written
 *   before it, so nothing is excused there.
 * - Every `comm` received must come from the receiver's peer of that moment (its last
 *   `pair` line), at most once, in increasing `seq` per sender on each connection;
 *   and no `comm` answered with an error may be relayed.
 * - Not counted either way ("unconfirmed"): messages whose fence was never
 *   acknowledged in the same session (the sender left or was re-paired first).
 * - Flood accounting (the rate limit's counted refusals): for every connection, each
 *   `comm` and `connect` it sent was relayed, refused individually, acknowledged, or
 *   counted by a `{"error":"rate limited","dropped":N}` reply — never counted twice;
 *   and for a connection ended by its own `exit` (the server read all it sent)
 *   nothing is left over, except what an abruptly ended receiver may have lost
 *   (see {@link Ledger.audit}). Messages of connections with counted refusals are
 *   checked this way rather than one by one. Every connection the server cut read
 *   the exit line telling why.
 *
 * At the end it checks: no unhandled error; losses = 0 and no violation; registry,
 * pairs, timers and sockets back to zero; RSS within +30 MiB of the RSS after
 * warm-up (both after a GC, in the server process). It prints one summary line and exits 0, or 1 on failure.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/index.js';
import { SoakClient, type SoakCounters } from './soak-client.js';
import { Ledger } from './soak-ledger.js';
import type { SoakServerReport } from './soak-server.js';

const RSS_MARGIN_MIB = 30;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** The server child: started, asked for reports, stopped; killed by pid if it lingers. */
class ServerChild {
  readonly child: ChildProcess;
  private readonly waiting: Array<(message: Record<string, unknown>) => void> = [];

  constructor(seed: string) {
    const script = fileURLToPath(new URL('./soak-server.ts', import.meta.url));
    this.child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, seed], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message) => this.waiting.shift()?.(message as Record<string, unknown>));
  }

  /** The next message from the server, bounded. */
  next(ms = 20_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the soak server did not answer')), ms);
      this.waiting.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  async ask(what: 'report' | 'stop'): Promise<SoakServerReport> {
    const answer = this.next();
    this.child.send(what);
    return (await answer) as unknown as SoakServerReport;
  }

  kill(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      process.kill(this.child.pid, 'SIGKILL');
    }
  }
}

const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

function parse(): { seconds: number; clients: number; seed: string } {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, clients: { type: 'string', default: '300' }, seed: { type: 'string', default: 'soak' } },
  });
  const seconds = Number(values.seconds);
  const clients = Number(values.clients);
  if (!(seconds > 0 && seconds <= 3600) || !Number.isInteger(clients) || clients < 2 || clients > 5000) {
    console.error('usage: soak.ts [--seconds N (1-3600)] [--clients C (2-5000)] [--seed S]');
    process.exit(2);
  }
  return { seconds, clients, seed: values.seed ?? 'soak' };
}

async function main(): Promise<number> {
  const { seconds, clients: clientCount, seed } = parse();
  const random = seededRandom(seed);
  let unhandled = 0;
  process.on('uncaughtException', (error) => {
    unhandled++;
    console.error('soak: uncaught exception:', error);
  });
  process.on('unhandledRejection', (error) => {
    unhandled++;
    console.error('soak: unhandled rejection:', error);
  });

  const server = new ServerChild(`${seed}-pairing`);
  process.on('exit', () => server.kill());
  const listening = await server.next();
  const port = Number(listening.port);
  console.error(`soak: server on 127.0.0.1:${port}, ${clientCount} clients, ${seconds} s`);

  const ledger = new Ledger();
  const counters: SoakCounters = { exits: new Map(), errors: new Map(), received: 0, sent: 0 };
  const clients: SoakClient[] = [];
  for (let i = 0; i < clientCount; i++) {
    const client = new SoakClient(`soak${i}`, port, ledger, counters, 100 + Math.floor(random() * 300));
    clients.push(client);
    client.open();
    if (i % 50 === 49) await sleep(20);
  }
  const ready = await until(() => clients.filter((c) => c.link?.registered === true).length >= clientCount * 0.9, 15_000);
  if (!ready) console.error('soak: fewer than 90% of the clients registered within 15 s');

  // Warm-up: normal traffic only.
  const chatTick = (): void => {
    for (const c of clients) if (c.paired && random() < 0.5) c.chat(1 + Math.floor(random() * 3));
  };
  const warmupMs = Math.min(5_000, Math.max(1_000, seconds * 100));
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) {
    chatTick();
    await sleep(100);
  }
  const rssWarm = (await server.ask('report')).rss;

  const faults = { silent: 0, drop: 0, takeover: 0, flood: 0, slow: 0 };
  const end = performance.now() + seconds * 1000;
  let tick = 0;
  while (performance.now() < end) {
    chatTick();
    if (tick++ % 2 === 0) {
      for (const c of clients) {
        if (c.link === undefined) continue;
        const r = random();
        if (r < 0.002) {
          c.goSilent();
          faults.silent++;
        } else if (r < 0.005) {
          c.drop();
          faults.drop++;
        } else if (r < 0.008) {
          c.takeover();
          faults.takeover++;
        } else if (r < 0.009) {
          c.link.chat(250); // 2.5 × rateBurst at once
          faults.flood++;
        } else if (r < 0.011) {
          c.stopReading(1_500);
          faults.slow++;
        }
      }
    }
    await sleep(100);
  }

  // Quiesce: no new traffic; let fences and in-flight lines settle.
  await sleep(2_000);
  for (const c of clients) c.reconnect = false;
  await sleep(1_000);

  // Everyone leaves.
  for (const c of clients) c.leave();
  const left = await until(() => clients.every((c) => c.gone), 10_000);
  const stragglers = clients.filter((c) => !c.gone).length;
  for (const c of clients) c.destroy();
  let before = await server.ask('report');
  const deadline = performance.now() + 10_000;
  while ((before.sockets > 0 || before.stats.connections > 0) && performance.now() < deadline) {
    await sleep(100);
    before = await server.ask('report');
  }
  const drained = before.sockets === 0 && before.stats.connections === 0;
  const after = before.stats;
  const registryLeak = after.connections + after.clients + after.pairs;
  const socketLeak = before.sockets;
  const rssEnd = before.rss;
  const rssGrowth = rssEnd - rssWarm;
  const final = await server.ask('stop');
  const timerLeak = final.timers;
  unhandled += final.unhandled + before.unhandled;

  const audit = ledger.audit();
  for (const m of audit.lost.slice(0, 10)) console.error('soak: lost', m);
  const violations =
    ledger.wrongPeer + ledger.duplicates + ledger.outOfOrder + ledger.refusedButRelayed + ledger.garbled + audit.unaccounted.length + audit.cutWithoutReason;
  const leaks = registryLeak + socketLeak + timerLeak;
  const failures: string[] = [];
  if (unhandled > 0) failures.push(`${unhandled} unhandled errors`);
  if (audit.lost.length > 0) failures.push(`${audit.lost.length} accepted messages lost`);
  for (const u of audit.unaccounted.slice(0, 10)) console.error('soak:', u);
  if (audit.unaccounted.length > 0) failures.push(`${audit.unaccounted.length} connections whose lines are not all accounted for`);
  if (audit.cutWithoutReason > 0) failures.push(`${audit.cutWithoutReason} connections cut without reading an exit line`);
  if (violations > 0) {
    failures.push(
      `violations: wrongPeer ${ledger.wrongPeer}, duplicates ${ledger.duplicates}, outOfOrder ${ledger.outOfOrder}, refusedButRelayed ${ledger.refusedButRelayed}, garbled ${ledger.garbled}`,
    );
  }
  if (leaks > 0 || !drained) failures.push(`leaks: registry ${registryLeak}, sockets ${socketLeak}, timers ${timerLeak}`);
  if (!left) failures.push(`${stragglers} clients did not close after exit within 10 s`);
  if (rssGrowth > RSS_MARGIN_MIB * 1048576) failures.push(`RSS grew by ${mib(rssGrowth)} MiB (> ${RSS_MARGIN_MIB})`);
  if (audit.accepted === 0) failures.push('no message was accepted: the soak did not exercise the relay');

  const fmt = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k}=${v}`).join(',');
  const faultText = Object.entries(faults).map(([k, v]) => `${k}=${v}`).join(',');
  console.log(
    `soak: ${failures.length === 0 ? 'OK' : 'FAIL'} seconds=${seconds} clients=${clientCount} connections=${after.connectionsOpened} ` +
      `sent=${counters.sent} received=${counters.received} accepted=${audit.accepted} refused=${audit.refused} ` +
      `unconfirmed=${audit.unconfirmed} excused=${audit.excused} losses=${audit.lost.length} violations=${violations} ` +
      `counted=${audit.counted} countedConnections=${audit.countedConnections} unaccounted=${audit.unaccounted.length} cutWithoutReason=${audit.cutWithoutReason} ` +
      `faults{${faultText}} exits{${fmt(counters.exits)}} errors{${fmt(counters.errors)}} ` +
      `leaks=${leaks} unhandled=${unhandled} rss_warm=${mib(rssWarm)}MiB rss_end=${mib(rssEnd)}MiB growth=${mib(rssGrowth)}MiB (limit +${RSS_MARGIN_MIB})`,
  );
  for (const f of failures) console.error(`soak: FAIL ${f}`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 1_000).unref();
  },
  (error: unknown) => {
    console.error('soak: failed:', error);
    process.exit(1);
  },
);
