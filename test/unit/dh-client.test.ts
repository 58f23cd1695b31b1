/**
 * The reference peer as a stream client (src/testing/dh/client.ts), over in-process
 * streams to a real RouletteCore on a ManualClock.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RouletteCore } from '../../src/core/core.js';
import { connectInProcess } from '../../src/transports/in-process.js';
import { attachReferencePeer, readRoundLog, type DhRoundEvent, type ReferencePeerHandle } from '../../src/testing/dh/index.js';
import { registered } from '../helpers/core.js';

/** Resolves at the first `finish` or `fail` event of `handle`'s peer. */
function roundEnd(handle: ReferencePeerHandle): Promise<DhRoundEvent> {
  return new Promise((resolve) => {
    const onRound = (e: DhRoundEvent): void => {
      if (e.event !== 'finish' && e.event !== 'fail') return;
      handle.peer.off('round', onRound);
      resolve(e);
    };
    handle.peer.on('round', onRound);
  });
}

describe('attachReferencePeer over in-process streams', () => {
  it('two reference clients register, get paired, finish a round, log NDJSON, close', async () => {
    const clock = new ManualClock();
    const core = new RouletteCore({ clock });
    core.start();
    const logText: string[] = [];
    const logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => logText.push(chunk.toString()));
    const a = attachReferencePeer(connectInProcess(core), { uco: 'ref1', bits: 1024, clock, log: logStream });
    const b = attachReferencePeer(connectInProcess(core), { uco: 'ref2', clock });
    await registered(core, 2);
    const ends = Promise.all([roundEnd(a), roundEnd(b)]);
    clock.advance(100); // PROTOCOL §6 pairDelayMs
    const [ea, eb] = await ends;
    assert.deepEqual([ea.event, ea.role], ['finish', 'initiator']);
    assert.deepEqual([eb.event, eb.role], ['finish', 'responder']);

    const closedB = b.closed;
    await a.close();
    const events = readRoundLog(logText.join(''));
    assert.deepEqual(events.map((e) => e.event), ['pair', 'dh1_send', 'dh2_recv', 'dh_done', 'dhc_send', 'dhc_recv', 'dhc_check', 'finish']);
    assert.equal(core.client('ref1'), undefined, 'exit unregistered ref1');
    core.stop(); // server shutdown closes ref2's stream
    assert.equal(await closedB, undefined);
    await b.close();
  });

  it('answers pings so the core keeps it registered', async () => {
    const clock = new ManualClock();
    const core = new RouletteCore({ clock });
    core.start();
    const a = attachReferencePeer(connectInProcess(core), { uco: 'ref1', clock });
    await registered(core, 1);
    for (let t = 0; t < 10; t++) {
      clock.advance(1_000);
      await new Promise((resolve) => setImmediate(resolve)); // let the stream carry ping and pong
    }
    assert.notEqual(core.client('ref1'), undefined);
    await a.close();
    core.stop();
  });
});
