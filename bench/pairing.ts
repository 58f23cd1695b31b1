/**
 * Pairing latency (PROTOCOL §6): one client waits, free; a new client registers and
 * we time from writing its `connect` to reading its `pair` line. Then the waiter
 * exits, which frees the newcomer: it is the next waiter. The socket is connected
 * before the clock starts, so TCP set-up is not counted.
 *
 * @module
 */
import { BenchClient, openClient, until } from './client.js';
import type { RelayTarget } from './relay.js';
import { percentiles } from './stats.js';

/** What one pairing run measured. */
export interface PairingRunResult {
  readonly samples: number;
  /** connect → pair, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** connect → ack, ms (median). */
  readonly ackP50Ms: number;
  /** Newcomers paired with someone other than the waiter, or not at all. */
  readonly unexpected: number;
}

let runCounter = 0;

function closedPromise(c: BenchClient): Promise<void> {
  return new Promise((resolve) => {
    if (c.closed) resolve();
    else c.socket.once('close', () => resolve());
  });
}

/**
 * Measures `count` connect → pair latencies against a server with no other clients.
 * With `others` (the nodes of a cluster), the first waiter registers on `target` and
 * newcomer i on `[target, ...others][(i + 1) % n]`: each newcomer meets the waiter on
 * another node.
 */
export async function pairingRun(target: RelayTarget, count: number, others: readonly RelayTarget[] = []): Promise<PairingRunResult> {
  const tag = `p${process.pid % 10000}x${runCounter++}`;
  const nodes = [target, ...others];
  let waiter = await openClient(target.host, target.port, 10_000);
  waiter.uco = `${tag}w`;
  waiter.send({ cmd: 'connect', uco: waiter.uco, nonce: 0 });
  await until(() => waiter.acked !== undefined, 5_000, 'the first waiter to be registered');
  const pairMs = new Float64Array(count);
  const ackMs = new Float64Array(count);
  let unexpected = 0;
  let n = 0;
  try {
    for (let i = 0; i < count; i++) {
      const node = nodes[(i + 1) % nodes.length] as RelayTarget;
      const c = await openClient(node.host, node.port, 10_000);
      c.uco = `${tag}n${i}`;
      let tAck = 0n;
      let tPair = 0n;
      c.onControl = (msg) => {
        if (msg.ack !== undefined && tAck === 0n) tAck = process.hrtime.bigint();
        if (msg.cmd === 'pair' && tPair === 0n) tPair = process.hrtime.bigint();
      };
      const t0 = process.hrtime.bigint();
      c.send({ cmd: 'connect', uco: c.uco, nonce: i + 1 });
      try {
        await until(() => tPair !== 0n, 5_000, 'pair');
      } catch {
        unexpected++;
        c.close();
        continue;
      }
      c.onControl = undefined;
      if (c.peer !== waiter.uco) unexpected++;
      pairMs[n] = Number(tPair - t0) / 1e6;
      ackMs[n] = Number(tAck - t0) / 1e6;
      n++;
      // The waiter leaves; the newcomer is free again once the server has handled it
      // (the server answers exit and closes the socket).
      const gone = closedPromise(waiter);
      waiter.send({ cmd: 'exit' });
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      waiter.close();
      waiter = c;
    }
  } finally {
    waiter.close();
  }
  const [p50, p99, max] = percentiles(pairMs, n, [0.5, 0.99, 1]);
  const [ack50] = percentiles(ackMs, n, [0.5]);
  return { samples: n, p50Ms: p50 as number, p99Ms: p99 as number, maxMs: max as number, ackP50Ms: ack50 as number, unexpected };
}
