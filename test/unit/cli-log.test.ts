/**
 * The CLI's log lines (PROTOCOL §9: stderr, readable by a person): sentences naming
 * the client's uco, and no line per empty epoch. Driven by the ManualClock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, logCoreEvents } from '../../src/cli/log.js';
import { ManualClock, MemoryConnection, RouletteCore } from '../../src/index.js';

function logged(core: RouletteCore): string[] {
  const lines: string[] = [];
  logCoreEvents(core, createLogger({ write: (line) => lines.push(line.slice(25, -1)) }));
  return lines;
}

test('PROTOCOL §9 logs: an idle server logs one line for a stretch of empty epochs, not one per epoch', () => {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, epochMs: 5_000, pairDelayMs: 0 });
  const lines = logged(core);
  core.start();
  clock.advance(5_000 * 130); // 130 empty epochs (11 minutes at 5 s)
  assert.deepEqual(lines, ['INFO Epoch 1 started with no clients; the next empty epochs are not logged']);
  const a = new MemoryConnection(core);
  const b = new MemoryConnection(core);
  a.send({ cmd: 'connect', uco: '67', nonce: 1 });
  b.send({ cmd: 'connect', uco: '220', nonce: 1 });
  clock.advance(5_000);
  a.send({ cmd: 'exit' });
  b.send({ cmd: 'exit' });
  lines.length = 0;
  clock.advance(5_000 * 3); // one busy epoch was logged; now idle again
  assert.deepEqual(lines, ['INFO Epoch 132 started with no clients; the next empty epochs are not logged']);
  core.stop();
});

test('PROTOCOL §9 logs: every leave reason reads as a sentence naming the uco, with the wire reason after it', () => {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, registerTimeoutMs: 1_000 });
  const lines = logged(core);
  core.start();
  new MemoryConnection(core, { remoteAddress: '10.0.0.7:4000' });
  clock.advance(1_000); // never registers
  const b = new MemoryConnection(core);
  b.send({ cmd: 'connect', uco: '67', nonce: 1 });
  const c = new MemoryConnection(core);
  c.send({ cmd: 'connect', uco: '67', nonce: 2 }); // takes over
  core.stop();
  assert.deepEqual(lines, [
    'INFO Client connected from 10.0.0.7:4000 (connection 1)',
    'INFO Connection 1 from 10.0.0.7:4000 closed before registering: it sent no connect in time (register timeout)',
    'INFO Client connected from memory (connection 2)',
    'INFO Registered 67 (connection 2)',
    'INFO Client connected from memory (connection 3)',
    'INFO Removed 67 (connection 2): it connected again on another connection (new session)',
    'INFO Registered 67 (connection 3), replacing its older session',
    'INFO Removed 67 (connection 3): the server is shutting down (server shutdown)',
  ]);
});
