/**
 * PROTOCOL §9: the `chat-roulette` command as a process, on 127.0.0.1, and the
 * example client against it. Every process and socket a test opens is closed in
 * `afterEach`; every wait is bounded.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SUITE_TIMEOUT_MS, TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/bounds.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = ['--conditions=source', '--import', 'tsx'];
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARN|ERROR) /;
const SHUTDOWN = '{"exit":true,"reason":"server shutdown"}';

const processes = new Set<Proc>();
const sockets = new Set<net.Socket>();

afterEach(() => {
  for (const proc of processes) proc.kill();
  processes.clear();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
});

/** Resolves when `check` returns a value, re-checked on `emitter`'s events; bounded. */
function waitUntil<T>(what: string, subscribe: (recheck: () => void) => () => void, check: () => T | undefined, ms = WAIT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    let unsubscribe = (): void => undefined;
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const recheck = (): void => {
      let value: T | undefined;
      try {
        value = check();
      } catch (error) {
        clearTimeout(timer);
        unsubscribe();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (value === undefined) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    };
    unsubscribe = subscribe(recheck);
    recheck();
  });
}

/** A child process running a TypeScript entry point through tsx, its output collected. */
class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Exit code and signal, once the process and its pipes are closed. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [...TSX, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    processes.add(this);
    this.child.stdout?.setEncoding('utf8').on('data', (text: string) => (this.stdout += text));
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.closed = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      });
    });
  }

  /** Waits until `stream`'s output matches `pattern`; fails early if the process ends first. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, ms = WAIT_MS): Promise<RegExpMatchArray> {
    const source = stream === 'stdout' ? this.child.stdout : this.child.stderr;
    return waitUntil(
      `${pattern} on ${stream}`,
      (recheck) => {
        source?.on('data', recheck);
        this.child.on('close', recheck);
        return () => {
          source?.off('data', recheck);
          this.child.off('close', recheck);
        };
      },
      () => {
        const match = this[stream].match(pattern);
        if (match !== null) return match;
        if (this.done) throw new Error(`process ended before ${pattern} on ${stream}; stderr:\n${this.stderr}`);
        return undefined;
      },
      ms,
    );
  }

  /** Resolves with the exit status, or fails after `ms`. */
  exit(ms = WAIT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return Promise.race([
      this.closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`process did not exit within ${ms} ms`)), ms).unref()),
    ]);
  }

  signal(signal: NodeJS.Signals): void {
    assert.ok(this.child.pid !== undefined);
    process.kill(this.child.pid, signal);
  }

  /** Kills the process by its pid if it is still running. */
  kill(): void {
    if (this.done || this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** `chat-roulette start --host 127.0.0.1 --port 0 ...flags`, once it printed its listening line. */
async function startServer(...flags: string[]): Promise<{ proc: Proc; port: number }> {
  const proc = new Proc(['src/cli/main.ts', 'start', '--host', '127.0.0.1', '--port', '0', ...flags]);
  const match = await proc.waitFor('stdout', /^listening on 127\.0\.0\.1:(\d+)\n/);
  return { proc, port: Number(match[1]) };
}

/** A raw TCP client of the wire protocol; it answers pings. */
class WireClient {
  readonly socket: net.Socket;
  readonly lines: string[] = [];
  ended = false;
  private pending = '';

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    sockets.add(this.socket);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (text: string) => {
      const parts = (this.pending + text).split('\n');
      this.pending = parts.pop() ?? '';
      for (const line of parts) {
        this.lines.push(line);
        if (line === '{"cmd":"ping"}') this.send({ cmd: 'pong' });
      }
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.ended = true));
  }

  send(message: object): void {
    if (this.socket.writable) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** Waits for a line matching `pattern`. */
  waitForLine(pattern: RegExp): Promise<string> {
    return waitUntil(
      `${pattern} from the server`,
      (recheck) => {
        this.socket.on('data', recheck);
        this.socket.on('close', recheck);
        return () => {
          this.socket.off('data', recheck);
          this.socket.off('close', recheck);
        };
      },
      () => {
        const line = this.lines.find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (this.ended) throw new Error(`connection closed before ${pattern}; got ${JSON.stringify(this.lines)}`);
        return undefined;
      },
    );
  }

  /** Waits until the server closes the connection. */
  waitForEnd(): Promise<true> {
    return waitUntil(
      'the server to close the connection',
      (recheck) => {
        this.socket.on('close', recheck);
        return () => this.socket.off('close', recheck);
      },
      () => (this.ended ? true : undefined),
    );
  }

  /** Registers and waits for the ack. */
  async register(uco: string): Promise<void> {
    this.send({ cmd: 'connect', uco, session: 's', nonce: 1 });
    await this.waitForLine(/^\{"ack":"1"\}$/);
  }

  /** The uco of the last `pair` received, waiting for one. */
  async peer(): Promise<string> {
    const line = await this.waitForLine(/^\{"cmd":"pair","uco":"[^"]+"\}$/);
    return (JSON.parse(line) as { uco: string }).uco;
  }
}

describe('PROTOCOL §9 chat-roulette start', { timeout: SUITE_TIMEOUT_MS }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`prints the listening line, logs pairing, and stops on ${signal} (PROTOCOL §7)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const { proc, port } = await startServer();
      const a = new WireClient(port);
      const b = new WireClient(port);
      await a.register('67');
      await b.register('220');
      assert.equal(await a.peer(), '220');
      assert.equal(await b.peer(), '67');
      await proc.waitFor('stderr', /^\S+ INFO Pairing (67 <-> 220|220 <-> 67)$/m);

      proc.signal(signal);
      for (const client of [a, b]) {
        await client.waitForEnd();
        assert.equal(client.lines.at(-1), SHUTDOWN, 'nothing is written after exit');
      }
      const { code, signal: killedBy } = await proc.exit();
      assert.equal(killedBy, null);
      assert.equal(code, 0);
      assert.equal(proc.stdout, `listening on 127.0.0.1:${port}\n`, 'stdout holds the listening line only');
      const logLines = proc.stderr.trimEnd().split('\n');
      for (const line of logLines) assert.match(line, LOG_LINE);
      assert.ok(logLines.some((l) => /INFO Client connected from 127\.0\.0\.1:\d+/.test(l)), 'connected, with the address');
      assert.ok(logLines.some((l) => l.endsWith('INFO Registered 67 (connection 1)')), 'registered');
      assert.ok(logLines.some((l) => /INFO Removed 220 \(connection \d\): the server is shutting down \(server shutdown\)$/.test(l)), 'removed, with the reason');
    });
  }

  test('--quiet silences the INFO lines', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { proc, port } = await startServer('--quiet', '--pair-delay-ms', '0');
    const a = new WireClient(port);
    const b = new WireClient(port);
    await a.register('a');
    await b.register('b');
    await a.peer();
    proc.signal('SIGTERM');
    assert.equal((await proc.exit()).code, 0);
    assert.equal(proc.stderr, '');
  });

  test('--stats-interval prints STATS summary lines to stderr, even with --quiet', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { proc, port } = await startServer('--quiet', '--stats-interval', '50', '--pair-delay-ms', '0');
    const a = new WireClient(port);
    const b = new WireClient(port);
    await a.register('a');
    await b.register('b');
    await a.peer();
    a.send({ cmd: 'comm', text: 'hi' });
    await proc.waitFor('stderr', /^\S+ STATS connections=2 clients=2 pairs=1 epochs=0 relayed=1 relayedBytes=\d+ errors=0$/m);
    proc.signal('SIGTERM');
    assert.equal((await proc.exit()).code, 0);
  });

  test('a client that leaves is logged as removed, with the reason', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { proc, port } = await startServer();
    const a = new WireClient(port);
    await a.register('67');
    a.send({ cmd: 'exit' });
    await a.waitForLine(/^\{"exit":true,"reason":"client exit"\}$/);
    await proc.waitFor('stderr', /^\S+ INFO Removed 67 \(connection 1\): it sent exit \(client exit\)$/m);
    proc.signal('SIGTERM');
    assert.equal((await proc.exit()).code, 0);
  });

  test('a bad flag or value: a one-line error and the usage on stderr, exit code 2', { timeout: TEST_TIMEOUT_MS }, async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--bogus'], /unknown option '--bogus'/],
      [['--port', '70000'], /invalid value for --port: '70000'/],
      [['--epoch-ms', 'abc'], /invalid value for --epoch-ms: 'abc'/],
      [['--ping-ms=-5'], /invalid value for --ping-ms: '-5'/],
      [['--dead-ms', '1.5'], /invalid value for --dead-ms: '1.5'/],
      [['--port'], /--port needs a value/],
    ];
    await Promise.all(
      cases.map(async ([flags, error]) => {
        const proc = new Proc(['src/cli/main.ts', 'start', '--host', '127.0.0.1', ...flags]);
        const { code } = await proc.exit();
        assert.equal(code, 2, flags.join(' '));
        assert.equal(proc.stdout, '', flags.join(' '));
        const [first, ...rest] = proc.stderr.split('\n');
        assert.match(first ?? '', error);
        assert.match(first ?? '', /^chat-roulette start: /);
        assert.match(rest.join('\n'), /^Usage: chat-roulette start/m);
      }),
    );
  });

  test('no or an unknown subcommand: usage on stderr, exit 2; --help: usage on stdout, exit 0', { timeout: TEST_TIMEOUT_MS }, async () => {
    const none = new Proc(['src/cli/main.ts']);
    const unknown = new Proc(['src/cli/main.ts', 'serve']);
    const help = new Proc(['src/cli/main.ts', '--help']);
    const startHelp = new Proc(['src/cli/main.ts', 'start', '--help']);
    const [noneExit, unknownExit, helpExit, startHelpExit] = await Promise.all([
      none.exit(),
      unknown.exit(),
      help.exit(),
      startHelp.exit(),
    ]);
    assert.equal(noneExit.code, 2);
    assert.match(none.stderr, /^Usage: chat-roulette <command>/m);
    assert.equal(unknownExit.code, 2);
    assert.match(unknown.stderr, /^chat-roulette: unknown command 'serve'\n/);
    assert.match(unknown.stderr, /^ {2}start /m);
    assert.equal(helpExit.code, 0);
    assert.match(help.stdout, /^Usage: chat-roulette <command>/);
    assert.equal(help.stderr, '');
    assert.equal(startHelpExit.code, 0);
    assert.match(startHelp.stdout, /^Usage: chat-roulette start/);
    for (const flag of ['--host', '--port', '--epoch-ms', '--ping-ms', '--dead-ms', '--register-timeout-ms', '--pair-delay-ms', '--max-line-bytes', '--max-clients', '--seed', '--quiet']) {
      assert.ok(startHelp.stdout.includes(flag), flag);
    }
  });

  test('a port in use: a one-line error, exit code 1', { timeout: TEST_TIMEOUT_MS }, async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as net.AddressInfo;
      const proc = new Proc(['src/cli/main.ts', 'start', '--host', '127.0.0.1', '--port', String(port)]);
      const { code } = await proc.exit();
      assert.equal(code, 1);
      assert.equal(proc.stdout, '');
      const lines = proc.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, proc.stderr);
      assert.match(lines[0] ?? '', new RegExp(`ERROR cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  // --seed: test/blackbox/protocol-suite.ts (run by protocol-blackbox.test.ts).
});

describe('examples/client.ts', { timeout: SUITE_TIMEOUT_MS }, () => {
  test('two clients pair and exchange messages; --count and SIGINT end them cleanly', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { proc: server, port } = await startServer('--pair-delay-ms', '0');
    const client = (...flags: string[]): Proc =>
      new Proc(['examples/client.ts', '--host', '127.0.0.1', '--port', String(port), '--every-ms', '100', ...flags]);
    const alice = client('--uco', 'alice', '--count', '3');
    const bob = client('--uco', 'bob');

    const aliceExit = await alice.exit();
    assert.equal(aliceExit.code, 0, alice.stderr);
    assert.match(alice.stdout, /^registered as alice\npaired with bob\n/);
    assert.equal(alice.stdout.match(/^from bob: hello #\d+ from bob to alice$/gm)?.length, 3, alice.stdout);
    assert.match(alice.stdout, /^exit: client exit\n$/m);

    await bob.waitFor('stdout', /^from alice: /m);
    bob.signal('SIGINT');
    const bobExit = await bob.exit();
    assert.equal(bobExit.code, 0, bob.stderr);
    assert.match(bob.stdout, /^registered as bob\npaired with alice\n/);
    assert.match(bob.stdout, /^exit: client exit$/m);

    server.signal('SIGTERM');
    assert.equal((await server.exit()).code, 0);
    assert.match(server.stderr, /INFO Pairing (alice <-> bob|bob <-> alice)$/m);
  });

  test('the client exits on the server\'s shutdown message', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { proc: server, port } = await startServer();
    const carol = new Proc(['examples/client.ts', '--port', String(port), '--uco', 'carol']);
    await carol.waitFor('stdout', /^registered as carol$/m);
    server.signal('SIGTERM');
    const { code } = await carol.exit();
    assert.equal(code, 0, carol.stderr);
    assert.match(carol.stdout, /^exit: server shutdown$/m);
    assert.equal((await server.exit()).code, 0);
  });
});
