/**
 * DH-EXERCISE grading with `chat-roulette peer` over real TCP (127.0.0.1, port 0):
 * the teacher stops the reference peer (SIGTERM / Ctrl-C) while a student's round is
 * running; the report counts that round as incomplete, "the reference peer stopped",
 * not as the student's failure. Waits on lines, bounded by the test timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import peer from '../../src/cli/commands/peer.js';
import { listen, RouletteCore } from '../../src/index.js';
import { readReport } from '../../src/testing/index.js';
import { LineReader } from '../helpers/line-reader.js';

test('DH-EXERCISE: SIGTERM to `chat-roulette peer` mid-round → incomplete, "the reference peer stopped"', { timeout: 20_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-roulette-peer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const core = new RouletteCore({ pairDelayMs: 0 });
  core.start();
  const server = await listen(core, { host: '127.0.0.1', port: 0 });
  t.after(async () => {
    core.stop();
    await server.close();
  });
  const { port } = server.address();
  const log = join(dir, 'rounds.ndjson');
  let stderr = '';
  const running = peer.run(['--host', '127.0.0.1', '--port', String(port), '--uco', 'ref', '--log', log, '--bits', '1024'], {
    out: () => undefined,
    err: (text) => void (stderr += text),
  });
  await new Promise<void>((resolve) => core.once('registered', () => resolve()));

  // The student ('zz' > 'ref': the peer initiates) registers, is paired, gets dh1 and never answers.
  const socket = net.connect({ host: '127.0.0.1', port });
  t.after(() => socket.destroy());
  const student = new LineReader(socket);
  socket.write('{"cmd":"connect","uco":"zz","nonce":1}\n');
  assert.deepEqual(JSON.parse(await student.next()), { ack: '1' });
  assert.deepEqual(JSON.parse(await student.next()), { cmd: 'pair', uco: 'ref' });
  assert.equal((JSON.parse(await student.next()) as { sub?: unknown }).sub, 'dh1');

  process.emit('SIGTERM', 'SIGTERM'); // what Ctrl-C / kill does to the CLI: its handler runs
  assert.equal(await running, 0, stderr);
  assert.match(stderr, /round 1 with zz \(initiator\) incomplete at dh2_recv: the reference peer stopped/);
  const s = (await readReport(readFileSync(log, 'utf8'))).students.find((x) => x.uco === 'zz');
  assert.deepEqual([s?.rounds, s?.failed, s?.incomplete, s?.lastIncomplete?.reason], [1, 0, 1, 'the reference peer stopped']);
});
