/**
 * End to end against the real JDK: tools/dh-fixtures/JavaDhClient.java (the way the
 * students' clients do DH) plays a round with the reference peer through a
 * RouletteCore, over its stdin/stdout (no sockets). Skipped when `javac` is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/core/clock.js';
import { RouletteCore } from '../../src/core/core.js';
import { connectInProcess } from '../../src/transports/in-process.js';
import { attachReferencePeer, type DhRoundEvent, type DhRole } from '../../src/testing/dh/index.js';
import { registered } from '../helpers/core.js';

const SOURCE = fileURLToPath(new URL('../../tools/dh-fixtures/JavaDhClient.java', import.meta.url));
const javac = spawnSync('javac', ['-version'], { stdio: 'ignore' });
const skip = javac.error !== undefined || javac.status !== 0 ? 'javac not found: install a JDK (17 or later) with javac on PATH to run the JDK end-to-end check' : false;

describe('DH-EXERCISE end to end with the JDK (JavaDhClient)', { skip, timeout: 60_000, concurrency: true }, () => {
  let classes = '';

  before(() => {
    classes = mkdtempSync(join(tmpdir(), 'dh-java-'));
    const build = spawnSync('javac', ['-d', classes, SOURCE], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
  });

  after(() => {
    if (classes !== '') rmSync(classes, { recursive: true, force: true });
  });

  /** One round: Java `javaUco` with `bits` against the reference peer `refUco`. */
  async function round(javaUco: string, refUco: string, bits: number): Promise<{ events: DhRoundEvent[]; stderr: string }> {
    const clock = new ManualClock();
    const core = new RouletteCore({ clock });
    core.start();
    const java = spawn('java', ['-cp', classes, 'JavaDhClient', '--stdio', '--uco', javaUco, '--bits', String(bits)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    java.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const socket = connectInProcess(core);
    java.stdout.pipe(socket);
    socket.pipe(java.stdin);
    // The server's last lines (the shutdown notice) may reach a JVM that has already
    // exited: EPIPE on its stdin is expected then; any other error is not.
    let stdinError: Error | undefined;
    java.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') stdinError = err;
    });
    const exited = once(java, 'exit');
    const ref = attachReferencePeer(connectInProcess(core), { uco: refUco, clock });
    const events: DhRoundEvent[] = [];
    ref.peer.on('round', (e) => events.push(e));
    const done = new Promise<void>((resolve) => ref.peer.on('round', (e) => (e.event === 'finish' || e.event === 'fail') && resolve()));
    await registered(core, 2);
    clock.advance(100); // PROTOCOL §6 pairDelayMs
    await done;
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, `java exited with ${code}: ${stderr}`);
    await ref.close();
    core.stop();
    assert.equal(stdinError, undefined);
    return { events, stderr };
  }

  const cases: Array<[string, string, string, number, DhRole]> = [
    ['Java initiates with the JDK default 2048-bit group', '410001', '410002', 2048, 'responder'],
    ['Java responds in our group', 'z410009', 'a410001', 2048, 'initiator'],
    ['Java initiates with a 1024-bit group (older clients)', '410001', '410002', 1024, 'responder'],
  ];
  for (const [title, javaUco, refUco, bits, refRole] of cases) {
    it(title, async () => {
      const { events, stderr } = await round(javaUco, refUco, bits);
      const last = events.at(-1);
      assert.equal(last?.event, 'finish', `${last?.reason ?? ''}\n${stderr}`);
      assert.equal(last?.role, refRole);
      assert.equal(events.find((e) => e.event === 'dhc_check')?.ok, true);
      assert.match(stderr, /java: round ok/);
    });
  }
});
