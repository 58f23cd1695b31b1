/**
 * `chat-roulette-cluster` and `launchCluster()`: a redis-server of their own, 3 nodes and a
 * round-robin balancer on 127.0.0.1. The CLI prints exactly the balancer's listening
 * line, clients pair and relay through it, SIGTERM stops everything with exit 0 and no
 * PID it started is left; bad flags exit 2; a failed start leaves no process behind; a
 * killed node is skipped (or restarted with `restartNodes`). Every wait is bounded;
 * whatever a test started is killed by PID after it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { LineClient, SHUTDOWN, until } from '../../../test/helpers/cli-process.js';
import { TEST_TIMEOUT_MS, WAIT_MS } from '../../../test/helpers/bounds.js';
import { Balancer } from '../src/launcher/balancer.js';
import { Child } from '../src/launcher/processes.js';
import { freePort } from '../src/launcher/redis-server.js';
import { launchCluster, LaunchError, type LaunchedCluster, type NodeExitEvent, type NodeHandle } from '../src/index.js';
import { alive, loggedPids, SOURCE_LAUNCHER_COMMAND, SOURCE_NODE_COMMAND, TAG_VARIABLE, taggedProcesses } from './launcher-process.js';
import { skipReason, startRedis } from './redis-server.js';

const skip = skipReason();
/** The parent-death signal needs util-linux's setpriv (Linux). */
const pdeathsigSkip = spawnSync('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { stdio: 'ignore' }).status === 0 ? false : 'needs setpriv --pdeathsig (util-linux)';
const T = { skip, timeout: TEST_TIMEOUT_MS };
/** Pings and deadlines out of the way: these tests are about the launcher. */
const CALM = ['--ping-ms', '60000', '--dead-ms', '180000', '--register-timeout-ms', '180000', '--epoch-ms', '3600000'];

const launchers: Child[] = [];
const clusters: LaunchedCluster[] = [];
const sockets: net.Socket[] = [];
let tests = 0;
let tag = '';

// Every process a test starts, and every process those start, inherits the tag.
beforeEach(() => {
  tag = `launcher-${process.pid}-${++tests}`;
  process.env[TAG_VARIABLE] = tag;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const l of launchers.splice(0)) await l.stop(WAIT_MS);
  for (const c of clusters.splice(0)) await c.close();
  const left = taggedProcesses(tag);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  assert.deepEqual(left, [], 'no process the test started is left');
});

/** The launcher CLI from source, with its output collected. */
class Launcher {
  stdout = '';
  stderr = '';
  readonly child: Child;

  /** Started by `Child`, the launcher leads a session and process group of its own, as in a terminal. */
  constructor(flags: readonly string[]) {
    const [command, ...args] = SOURCE_LAUNCHER_COMMAND as [string, ...string[]];
    this.child = new Child(command, [...args, ...flags], (stream, line) => {
      this[stream] += `${line}\n`;
    });
    launchers.push(this.child);
  }

  /** The balancer's port, from the listening line. */
  async port(): Promise<number> {
    await until('the listening line', () => /\n/.test(this.stdout) || this.child.status !== undefined);
    const match = /^listening on 127\.0\.0\.1:(\d+)\n$/.exec(this.stdout);
    assert.ok(match !== null, `stdout: ${this.stdout}\nstderr: ${this.stderr}`);
    return Number(match[1]);
  }

  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await until('the launcher to exit', () => this.child.status !== undefined);
    return this.child.status as { code: number | null; signal: NodeJS.Signals | null };
  }
}

/** A registered client through `port`, from `localAddress` (another loopback address than 127.0.0.1 works on Linux). */
async function client(port: number, uco: string, localAddress = '127.0.0.1'): Promise<LineClient> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  sockets.push(socket);
  await once(socket, 'connect');
  const c = new LineClient(socket);
  c.send({ cmd: 'connect', uco, nonce: uco });
  await c.waitLine(new RegExp(`^\\{"ack":"${uco}"\\}$`));
  return c;
}

/** Two clients through `port`, paired with each other, and one `comm` from a to b. */
async function pairThrough(port: number, a: string, b: string): Promise<[LineClient, LineClient]> {
  const ca = await client(port, a);
  const cb = await client(port, b);
  assert.equal(await ca.waitLine(/"pair"/), `{"cmd":"pair","uco":"${b}"}`);
  assert.equal(await cb.waitLine(/"pair"/), `{"cmd":"pair","uco":"${a}"}`);
  const odd = '{ "z":1, "cmd" : "comm", "big": 1234567890123456789012345 }';
  ca.socket.write(`${odd}\n`);
  assert.equal(await cb.waitLine(/"z"/), odd);
  return [ca, cb];
}

describe('chat-roulette-cluster (the launcher CLI)', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`prints only the balancer's listening line; clients pair through it; ${signal} → every client gets the shutdown notice, exit 0, no PID left`, T, async () => {
      const launcher = new Launcher(CALM);
      const port = await launcher.port();
      const started = loggedPids(launcher.stderr);
      assert.equal(started.length, 4, `3 nodes and redis-server:\n${launcher.stderr}`);
      assert.ok(started.every(alive));
      const [a, b] = await pairThrough(port, 'alice', 'bob');
      launcher.child.signal(signal);
      for (const c of [a, b]) {
        await c.waitLine(/"server shutdown"/);
        await until('the connection to close', () => c.closed);
        assert.equal(c.lines.at(-1), SHUTDOWN, 'nothing after the exit line');
      }
      assert.deepEqual(await launcher.exit(), { code: 0, signal: null }, launcher.stderr);
      assert.equal(launcher.stdout, `listening on 127.0.0.1:${port}\n`);
      assert.deepEqual(started.filter(alive), [], 'every process it started is gone');
      assert.deepEqual(taggedProcesses(tag), []);
      assert.match(launcher.stderr, /INFO Cluster stopped\n$/);
      for (const line of launcher.stderr.trimEnd().split('\n')) assert.match(line, /^(\d{4}-\d\d-\d\dT\S+ (INFO|ERROR) |\[(n\d|redis)\] )/);
    });
  }

  // Needs no redis-server: it never gets that far.
  test('Ctrl-C in a terminal (SIGINT to the launcher\'s process group) reaches the launcher only: it stops the nodes with SIGTERM, then redis-server; exit 0', T, async () => {
    const launcher = new Launcher(CALM);
    const port = await launcher.port();
    await pairThrough(port, 'alice', 'bob');
    const pid = launcher.child.pid as number;
    process.kill(-pid, 'SIGINT'); // the whole group, as a terminal does
    assert.deepEqual(await launcher.exit(), { code: 0, signal: null }, launcher.stderr);
    const nodeSignals = launcher.stderr.match(/^\[n\d\] \S+ INFO Received SIG\w+/gm) ?? [];
    assert.equal(nodeSignals.length, 3, launcher.stderr);
    for (const line of nodeSignals) assert.match(line, /Received SIGTERM$/);
    assert.doesNotMatch(launcher.stderr, / ERROR /);
    assert.deepEqual(taggedProcesses(tag), []);
  });

  test('a second SIGTERM is passed on to the nodes, which cut their shutdown grace short (a client that never closes its side)', T, async () => {
    const launcher = new Launcher([...CALM, '--shutdown-grace-ms', '600000']);
    const port = await launcher.port();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    sockets.push(socket);
    await once(socket, 'connect');
    const c = new LineClient(socket);
    c.send({ cmd: 'connect', uco: 'stubborn', nonce: 1 });
    await c.waitLine(/"ack"/);
    launcher.child.signal('SIGTERM');
    await c.waitLine(/"server shutdown"/);
    await until('the node to wait for its client', () => /INFO Received SIGTERM: telling 1 connection/.test(launcher.stderr));
    launcher.child.signal('SIGTERM');
    assert.deepEqual(await launcher.exit(), { code: 0, signal: null }, launcher.stderr);
    assert.match(launcher.stderr, /INFO Received SIGTERM again: closing the remaining 1 connection now/);
    assert.doesNotMatch(launcher.stderr, / ERROR /, 'no node needed SIGKILL');
  });

  test('a bad launcher flag: one error line and the usage on stderr, exit 2, nothing started', { timeout: TEST_TIMEOUT_MS }, async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--nodes', '0'], /invalid value for --nodes: '0'/],
      [['--node-id', 'x'], /option --node-id is set by the launcher/],
      [['--port', '70000'], /invalid value for --port: '70000'/],
      [['--redis', 'http://x'], /invalid value for --redis: 'http:\/\/x'/],
      [['--cluster'], /option --cluster needs a value/],
    ];
    for (const [flags, error] of cases) {
      const launcher = new Launcher(flags);
      assert.deepEqual(await launcher.exit(), { code: 2, signal: null }, flags.join(' '));
      assert.equal(launcher.stdout, '');
      const [first, ...rest] = launcher.stderr.split('\n');
      assert.match(first ?? '', /^chat-roulette-cluster: /);
      assert.match(first ?? '', error);
      assert.match(rest.join('\n'), /^Usage: chat-roulette-cluster/m);
      assert.deepEqual(loggedPids(launcher.stderr), []);
    }
  });

  test('a start flag the nodes refuse: the node\'s error as one line and the usage, exit 2, no PID left', T, async () => {
    const launcher = new Launcher(['--epoch-ms', 'abc']);
    assert.deepEqual(await launcher.exit(), { code: 2, signal: null });
    assert.equal(launcher.stdout, '');
    const [first, ...rest] = launcher.stderr.split('\n').filter((l) => !/^\d{4}-|^\[/.test(l));
    assert.match(first ?? '', /^chat-roulette-cluster: invalid value for --epoch-ms: 'abc'/);
    assert.match(rest.join('\n'), /^Usage: chat-roulette-cluster/m);
    assert.deepEqual(taggedProcesses(tag), [], 'its redis-server and nodes are gone');
  });

  test('kill -9 of the launcher: the kernel stops its nodes and its redis-server (setpriv --pdeathsig); no PID left', { ...T, skip: skip || pdeathsigSkip }, async () => {
    const launcher = new Launcher(CALM);
    await launcher.port();
    const started = loggedPids(launcher.stderr);
    assert.equal(started.length, 4, `3 nodes and redis-server:\n${launcher.stderr}`);
    launcher.child.signal('SIGKILL');
    assert.deepEqual(await launcher.exit(), { code: null, signal: 'SIGKILL' });
    await until('every process the launcher started to be gone', () => taggedProcesses(tag).length === 0);
    assert.deepEqual(started.filter((pid) => taggedProcesses(tag).includes(pid)), []);
  });

  test('SIGTERM while the nodes start: everything started is stopped, exit 0', T, async () => {
    const launcher = new Launcher(CALM);
    // The launcher, its redis-server and a node at least (whose start takes a while).
    await until('the nodes to be spawned', () => taggedProcesses(tag).length >= 3 || launcher.child.status !== undefined);
    launcher.child.signal('SIGTERM');
    assert.deepEqual(await launcher.exit(), { code: 0, signal: null }, launcher.stderr);
    // Almost always stopped before the nodes listened; if they were quicker, it stopped after.
    assert.match(launcher.stdout, /^(listening on 127\.0\.0\.1:\d+\n)?$/);
    assert.match(launcher.stderr, /INFO Stopping \d nodes?\n/);
    assert.deepEqual(loggedPids(launcher.stderr).filter(alive), []);
    assert.deepEqual(taggedProcesses(tag), []);
  });
});

describe('launchCluster()', () => {
  async function launch(extra: Parameters<typeof launchCluster>[0] = {}): Promise<{ cluster: LaunchedCluster; log: string[] }> {
    const log: string[] = [];
    const cluster = await launchCluster({ nodeCommand: SOURCE_NODE_COMMAND, startFlags: CALM, log: (line) => log.push(line), ...extra });
    clusters.push(cluster);
    return { cluster, log };
  }

  test('handles: balancer address, nodes, redis PID; a node killed with SIGKILL is skipped by the balancer; close() leaves no PID', T, async () => {
    const { cluster, log } = await launch();
    assert.equal(cluster.host, '127.0.0.1');
    assert.equal(cluster.nodes.length, 3);
    assert.deepEqual(cluster.nodes.map((n) => n.id), ['n1', 'n2', 'n3']);
    assert.ok(cluster.redisPid !== undefined && alive(cluster.redisPid));
    assert.match(cluster.redisUrl, /^redis:\/\/127\.0\.0\.1:\d+$/);
    const all = cluster.pids;
    assert.equal(all.length, 4);

    const exited = once(cluster, 'nodeExit') as Promise<[NodeExitEvent]>;
    assert.equal(cluster.kill('n2', 'SIGKILL'), true);
    const [event] = await exited;
    assert.equal(event.node.id, 'n2');
    assert.equal(event.expected, false);
    assert.equal(event.status.signal, 'SIGKILL');
    assert.deepEqual(cluster.nodes.map((n) => n.id), ['n1', 'n3']);
    assert.ok(log.some((l) => /ERROR Node n2 \(pid \d+\) exited unexpectedly \(signal SIGKILL\): the balancer skips it/.test(l)));
    // Four connections in a row all reach a live node.
    await pairThrough(cluster.port, 'a1', 'b1');
    await pairThrough(cluster.port, 'a2', 'b2');

    await cluster.close();
    assert.deepEqual(all.filter(alive), []);
    assert.deepEqual(cluster.pids, []);
    assert.equal(cluster.kill('n1'), false);
  });

  test('restartNodes: a killed node comes back under a new id; restartRedis(): the nodes carry on and clients pair again', T, async () => {
    const { cluster } = await launch({ nodes: 2, restartNodes: true });
    const started = once(cluster, 'nodeStart') as Promise<[NodeHandle]>;
    const oldPid = cluster.nodes[0]?.pid;
    cluster.kill(0, 'SIGKILL');
    const [node] = await started;
    assert.equal(node.slot, 'n1');
    assert.equal(node.id, 'n1-2');
    assert.notEqual(node.pid, oldPid);
    assert.deepEqual(cluster.nodes.map((n) => n.id), ['n1-2', 'n2']);

    const oldRedis = cluster.redisPid as number;
    await cluster.restartRedis();
    assert.ok(!alive(oldRedis));
    assert.ok(cluster.redisPid !== undefined && cluster.redisPid !== oldRedis);
    // The nodes rejoin the empty Redis; until they have, a registration may be refused
    // with `unavailable` (docs/scaling.md): try again, a bounded number of times.
    const registered: LineClient[] = [];
    const deadline = Date.now() + WAIT_MS;
    for (let attempt = 0; registered.length < 2 && Date.now() < deadline; attempt++) {
      const socket = net.connect(cluster.port, '127.0.0.1');
      sockets.push(socket);
      await once(socket, 'connect');
      const c = new LineClient(socket);
      c.send({ cmd: 'connect', uco: `u${attempt}`, nonce: 1 });
      const reply = await c.waitLine(/^\{"(ack|exit)"/);
      if (reply === '{"ack":"1"}') registered.push(c);
      else assert.equal(reply, '{"exit":true,"reason":"unavailable"}');
      if (registered.length === 0) await delay(50); // paces the retries, bounded by the deadline
    }
    assert.equal(registered.length, 2, 'two clients registered after the Redis restart');
    const [x, y] = registered as [LineClient, LineClient];
    assert.match(await x.waitLine(/"pair"/), /^\{"cmd":"pair","uco":"u\d+"\}$/);
    assert.match(await y.waitLine(/"pair"/), /^\{"cmd":"pair","uco":"u\d+"\}$/);
    assert.deepEqual(cluster.nodes.length, 2, 'no node exited');
  });

  test('redisUrl: uses that Redis under a fresh cluster name, starts none, leaves it running', T, async () => {
    const redis = await startRedis();
    try {
      const { cluster } = await launch({ nodes: 1, redisUrl: redis.url });
      assert.equal(cluster.redisUrl, redis.url);
      assert.equal(cluster.redisPid, undefined);
      assert.match(cluster.name, /^launch-[0-9a-f]{8}$/);
      assert.equal(cluster.pids.length, 1, 'the node only');
      await assert.rejects(cluster.restartRedis(), /uses a Redis it did not start/);
      await pairThrough(cluster.port, 'alice', 'bob');
      await cluster.close();
      assert.ok(redis.process.pid !== undefined && alive(redis.process.pid), 'the given Redis still runs');
    } finally {
      await redis.stop();
    }
  });

  test('proxyProtocol: the nodes run --proxy-protocol and see the client\'s address (127.0.0.2), not the balancer\'s', T, async () => {
    const { cluster, log } = await launch({ nodes: 2, proxyProtocol: true });
    assert.ok(log.some((l) => /INFO Balancer listening on .*, sending PROXY v1 headers$/.test(l)), log.join('\n'));
    // Round robin: alice on n1, bob on n2; each node logs the address the header carried.
    const alice = await client(cluster.port, 'alice', '127.0.0.2');
    const bob = await client(cluster.port, 'bob', '127.0.0.2');
    assert.equal(await alice.waitLine(/"pair"/), '{"cmd":"pair","uco":"bob"}');
    assert.equal(await bob.waitLine(/"pair"/), '{"cmd":"pair","uco":"alice"}');
    const connected = (): string[] => log.filter((l) => / INFO Client connected from /.test(l));
    await until('both nodes to log their client', () => connected().length >= 2);
    // The header carries the client's port too.
    assert.deepEqual(
      connected().map((l) => /^\[(n\d)\] .* INFO Client connected from (\S+) \(connection \d+\)$/.exec(l)?.slice(1, 3).join(' ')).sort(),
      [`n1 127.0.0.2:${alice.socket.localPort}`, `n2 127.0.0.2:${bob.socket.localPort}`],
    );
  });

  test('a node that cannot start: LaunchError, and the redis-server already started is stopped', T, async () => {
    const log: string[] = [];
    await assert.rejects(
      launchCluster({ nodeCommand: [process.execPath, '-e', 'process.exit(3)'], log: (line) => log.push(line) }),
      (error: unknown) => error instanceof LaunchError && error.code === 'start' && /node n\d exited before listening \(code 3\)/.test(error.message),
    );
    const started = loggedPids(log.join('\n'));
    assert.equal(started.length, 4, `redis-server and 3 nodes:\n${log.join('\n')}`);
    assert.deepEqual(started.filter(alive), []);
    assert.deepEqual(taggedProcesses(tag), []);
  });
});

describe('the balancer', () => {
  /** A backend that answers each connection's data with `name:` + data, and ends when the client ends. */
  async function backend(name: string): Promise<{ server: net.Server; port: number; ended: string[] }> {
    const ended: string[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('data', (data) => socket.write(`${name}:${data.toString()}`));
      socket.on('end', () => {
        ended.push(name);
        socket.end('bye\n');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, port: (server.address() as net.AddressInfo).port, ended };
  }

  // Needs no redis-server.
  test('round robin; a backend that is down or refuses is skipped; a half-close is forwarded both ways', { timeout: TEST_TIMEOUT_MS }, async () => {
    const a = await backend('a');
    const b = await backend('b');
    const refusing = await freePort(); // nothing listens there
    const balancer = new Balancer(() => [{ host: '127.0.0.1', port: a.port }, undefined, { host: '127.0.0.1', port: refusing }, { host: '127.0.0.1', port: b.port }]);
    const { port } = await balancer.listen('127.0.0.1', 0);
    try {
      const answers: string[] = [];
      for (let i = 0; i < 4; i++) {
        const socket = net.connect(port, '127.0.0.1');
        sockets.push(socket);
        await once(socket, 'connect');
        let text = '';
        socket.setEncoding('utf8').on('data', (t: string) => (text += t));
        socket.end(`hello${i}\n`); // half-close: the backend still answers, then ends
        await once(socket, 'close');
        answers.push(text);
      }
      assert.deepEqual(answers, ['a:hello0\nbye\n', 'b:hello1\nbye\n', 'a:hello2\nbye\n', 'b:hello3\nbye\n']);
      assert.deepEqual([...a.ended, ...b.ended].sort(), ['a', 'a', 'b', 'b']);
      await until('the balancer to let go of every socket', () => balancer.openSockets === 0);
    } finally {
      balancer.stopListening();
      balancer.destroyAll();
      for (const s of [a.server, b.server]) s.close();
    }
  });

  test('proxyProtocol: each node connection begins with the PROXY v1 header of the client\'s connection, then its bytes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const received: Buffer[] = [];
    const node = net.createServer((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        received.push(Buffer.concat(chunks));
        socket.end();
      });
    });
    node.listen(0, '127.0.0.1');
    await once(node, 'listening');
    const balancer = new Balancer(() => [{ host: '127.0.0.1', port: (node.address() as net.AddressInfo).port }], true);
    const { port } = await balancer.listen('127.0.0.1', 0);
    try {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      sockets.push(socket);
      await once(socket, 'connect');
      const clientPort = socket.localPort;
      socket.end('{"cmd":"connect","uco":"42"}\n');
      socket.resume();
      await once(socket, 'close');
      await until('the node to get the whole connection', () => received.length === 1);
      assert.equal(received[0]?.toString('latin1'), `PROXY TCP4 127.0.0.2 127.0.0.1 ${clientPort} ${port}\r\n{"cmd":"connect","uco":"42"}\n`);
    } finally {
      balancer.stopListening();
      balancer.destroyAll();
      node.close();
    }
  });
});
