/**
 * The DH exercise end to end over real TCP on 127.0.0.1 (DH-EXERCISE.md, PROTOCOL §9),
 * against a server started by command (`chat-roulette start` in
 * test/integration/dh-tcp.test.ts; a cluster behind the launcher in
 * packages/redis/test/dh-cluster.test.ts): `chat-roulette peer --log FILE` and the JDK client
 * tools/dh-fixtures/JavaDhClient.java as processes. The Java client plays two
 * rounds with the reference peer: after the first, the peer is stopped and started
 * again under the same uco, appending to the same log, and the Java client, freed,
 * is paired with it at once (PROTOCOL §6) for the second. Nothing waits on an epoch
 * boundary, so a slow round on a busy machine is never cut short. Then
 * `chat-roulette report FILE` must count both rounds. Skipped when `javac` or `java` is
 * missing. Every wait is bounded; `after` stops, by pid, only the processes started
 * here (and fails if the server left one behind), and removes the temporary directory.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DhReport } from '../../src/testing/report.js';
import { ROOT, until } from '../helpers/cli-process.js';
import { SUITE_TIMEOUT_MS, WAIT_MS } from '../helpers/bounds.js';
import { ServerProcess } from './harness.js';
import type { ServerUnderTest } from './protocol-suite.js';

const SOURCE = fileURLToPath(new URL('../../tools/dh-fixtures/JavaDhClient.java', import.meta.url));
const TSX = ['--conditions=source', '--import', 'tsx'];
/** Long enough that no epoch boundary falls inside the test: the rounds are paired by events. */
const EPOCH_MS = 3_600_000;

function missing(tool: string): boolean {
  const probe = spawnSync(tool, ['-version'], { stdio: 'ignore' });
  return probe.error !== undefined || probe.status !== 0;
}
const noJdk = missing('javac') || missing('java') ? 'javac or java not found: install a JDK (17 or later) with javac and java on PATH to run the JDK end-to-end check over TCP' : false;

type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** A child process (not the server) with its output collected. */
class Child {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  status: ExitStatus | undefined;

  constructor(command: string, args: readonly string[]) {
    this.child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (t: string) => (this.stdout += t));
    this.child.stderr?.setEncoding('utf8').on('data', (t: string) => (this.stderr += t));
    this.child.on('close', (code, signal) => (this.status = { code, signal }));
  }

  /** The exit status, once the process and its pipes are closed; bounded. */
  async exit(what: string, ms = WAIT_MS): Promise<ExitStatus> {
    await until(`${what} to exit`, () => this.status !== undefined, ms);
    return this.status as ExitStatus;
  }

  signal(signal: NodeJS.Signals): void {
    assert.ok(this.child.pid !== undefined);
    process.kill(this.child.pid, signal);
  }

  /** SIGKILLs the process by its pid if it still runs. */
  kill(): void {
    if (this.status !== undefined || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** How many times `pattern` (global) occurs in `text`. */
function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The three cases of the exercise: Java's uco, the reference peer's, the group size. */
const CASES: ReadonlyArray<readonly [title: string, javaUco: string, refUco: string, bits: number]> = [
  ['Java initiates with the JDK default 2048-bit group', '410001', '410002', 2048],
  ['Java responds in the reference peer group', 'z410009', 'a410001', 2048],
  ['Java initiates with a 1024-bit group (older clients)', '410003', '410004', 1024],
];

/**
 * Registers the DH end-to-end tests against `target` (its `nodes` is not used); `cases`
 * picks some of the three (all by default).
 */
export function dhSuite(target: ServerUnderTest, cases: readonly number[] = [0, 1, 2]): void {
  describe(`DH-EXERCISE end to end over TCP: JDK client, reference peer, report (${target.name})`, { skip: target.skip || noJdk, timeout: SUITE_TIMEOUT_MS }, () => {
    let dir = '';
    const servers: ServerProcess[] = [];
    const children: Child[] = [];

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'dh-tcp-'));
      const build = spawnSync('javac', ['-d', dir, SOURCE], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(build.status, 0, `javac failed: ${build.error?.message ?? ''}${build.stderr}`);
    });

    after(async () => {
      for (const child of children) child.kill();
      const left = (await Promise.all(servers.map((server) => server.stop()))).flat();
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
      assert.deepEqual(left, [], 'processes a server left behind');
    });

    function cli(...args: string[]): Child {
      const child = new Child(process.execPath, [...TSX, 'src/cli/main.ts', ...args]);
      children.push(child);
      return child;
    }

    /** `report FILE ...flags`: its stdout, once it exited 0. */
    async function report(file: string, ...flags: string[]): Promise<string> {
      const proc = cli('report', file, ...flags);
      const { code } = await proc.exit('report');
      assert.equal(code, 0, `report ${flags.join(' ')} exited with ${code}: ${proc.stderr}`);
      return proc.stdout;
    }

    /** Two rounds of Java `javaUco` (with `bits`) against the reference peer `refUco`, then the report. */
    async function twoRounds(javaUco: string, refUco: string, bits: number): Promise<void> {
      const log = join(dir, `${javaUco}-${bits}.ndjson`);
      const server = new ServerProcess(target.command, ['--epoch-ms', String(EPOCH_MS), '--pair-delay-ms', '20']);
      servers.push(server);
      const port = await server.port();

      const startPeer = async (): Promise<Child> => {
        const registered = count(server.stderr, new RegExp(`Registered ${escape(refUco)} `, 'g'));
        const peer = cli('peer', '--host', '127.0.0.1', '--port', String(port), '--uco', refUco, '--log', log);
        await until(
          `the server to register ${refUco}`,
          () => count(server.stderr, new RegExp(`Registered ${escape(refUco)} `, 'g')) > registered || peer.status !== undefined,
          WAIT_MS,
        );
        assert.equal(peer.status, undefined, `peer exited early: ${peer.stderr}`);
        return peer;
      };
      const ok = new RegExp(`round \\d+ with ${escape(javaUco)} \\((initiator|responder)\\): ok`, 'g');
      /** Stops a peer once it logged its round's end (it logs when it has the last message). */
      const stopAfterRound = async (peer: Child): Promise<void> => {
        await until('the reference peer to finish its round', () => count(peer.stderr, ok) >= 1 || peer.status !== undefined, WAIT_MS);
        assert.equal(count(peer.stderr, ok), 1, `peer:\n${peer.stderr}`);
        peer.signal('SIGTERM');
        assert.deepEqual(await peer.exit('the peer'), { code: 0, signal: null }, `peer:\n${peer.stderr}`);
      };

      const first = await startPeer();
      const javaArgs = ['--uco', javaUco, '--host', '127.0.0.1', '--port', String(port), '--rounds', '2', '--bits', String(bits)];
      const java = new Child('java', ['-cp', dir, 'JavaDhClient', ...javaArgs]);
      children.push(java);
      // Round 1, then the peer leaves (the Java client is freed) and comes back: round 2.
      await until('the Java client to finish its first round', () => count(java.stderr, /java: round ok/g) >= 1 || java.status !== undefined, WAIT_MS);
      await stopAfterRound(first);
      const second = await startPeer();
      const javaExit = await java.exit('the Java client', WAIT_MS);
      assert.equal(javaExit.code, 0, `java exited with ${javaExit.code}: ${java.stderr}\npeer:\n${second.stderr}`);
      assert.equal(count(java.stderr, /java: round ok/g), 2, java.stderr);
      // Peer first (else it sees `server shutdown` and exits 1), then the server.
      await stopAfterRound(second);
      server.signal('SIGTERM');
      assert.deepEqual(await server.exit(), { code: 0, signal: null }, `server:\n${server.stderr}`);

      const json = JSON.parse(await report(log, '--json')) as DhReport;
      const student = json.students.find((s) => s.uco === javaUco);
      assert.ok(student !== undefined, `${javaUco} missing from the report: ${JSON.stringify(json)}`);
      const detail = JSON.stringify(student);
      assert.ok(student.successful >= 2, detail);
      assert.equal(student.failed, 0, detail);
      assert.equal(student.incomplete, 0, detail);
      assert.equal(student.lastFailure, null, detail);
      assert.equal(json.malformed.count, 0, JSON.stringify(json.malformed));

      // Text table: student, rounds, ok, failed, incomplete, dropped, refused, no notes.
      const text = await report(log);
      const row = new RegExp(`^${escape(javaUco)}\\s+(\\d+)\\s+(\\d+)\\s+0\\s+0\\s+0\\s+0\\s*$`, 'm').exec(text);
      assert.ok(row !== null, `no clean row for ${javaUco}:\n${text}`);
      assert.equal(Number(row[2]), student.successful, text);
      assert.ok(Number(row[2]) >= 2, text);
    }

    for (const i of cases) {
      const [title, javaUco, refUco, bits] = CASES[i] as (typeof CASES)[number];
      it(title, () => twoRounds(javaUco, refUco, bits));
    }
  });
}
