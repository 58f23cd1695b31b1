/**
 * The TCP server over real sockets on 127.0.0.1 (port 0): one test per wire rule,
 * named after the PROTOCOL section it checks. Every test closes what it opened.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { RouletteCore, type ConnectionClosedEvent, type RouletteOptions } from '../../src/index.js';
import { inspectCore } from '../../src/testing/index.js';
import { listen, type RouletteServer } from '../../src/transports/index.js';
import { LineReader } from '../helpers/line-reader.js';
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/bounds.js';

const T = { timeout: TEST_TIMEOUT_MS };

/** A test client on a real socket: collects the server's lines, raw and decoded. */
class TcpClient extends LineReader {
  private constructor(readonly socket: net.Socket) {
    super(socket);
  }

  /** With `allowHalfOpen`, the client keeps its side open after the server's end, as the course's Java and Python clients do. */
  static connect(port: number, allowHalfOpen = false): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TcpClient(socket));
      });
    });
  }

  /** Sends an object as one JSON line, or a string as it is (add the terminator yourself). */
  send(message: object | string): void {
    this.socket.write(typeof message === 'string' ? message : `${JSON.stringify(message)}\n`);
  }

  /** Writes and waits until the bytes are handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  async register(uco: string, nonce = 1): Promise<void> {
    this.send({ cmd: 'connect', uco, nonce });
    assert.equal(await this.next(), `{"ack":"${nonce}"}`);
  }
}

interface Env {
  core: RouletteCore;
  server: RouletteServer;
  port: number;
  /** A client; with `allowHalfOpen` it never closes its side (see {@link TcpClient.connect}). */
  connect(allowHalfOpen?: boolean): Promise<TcpClient>;
  /** Two registered clients, paired. */
  pair(a?: string, b?: string, allowHalfOpen?: boolean): Promise<[TcpClient, TcpClient]>;
}

/**
 * A started core on real time (pings and deadlines far away, immediate pairing) and a
 * server on 127.0.0.1:0; everything is closed after the test.
 */
async function setup(t: TestContext, options: RouletteOptions = {}, drainTimeoutMs = 2_000): Promise<Env> {
  const far = 600_000;
  const core = new RouletteCore({ epochMs: far, pingIntervalMs: far, deadAfterMs: far + 1, registerTimeoutMs: far, pairDelayMs: 1, ...options });
  core.start();
  const server = await listen(core, { host: '127.0.0.1', port: 0, drainTimeoutMs });
  const clients: TcpClient[] = [];
  t.after(async () => {
    for (const c of clients) c.socket.destroy();
    await server.close({ graceMs: 0 });
    core.stop();
  });
  const port = server.address().port;
  const env: Env = {
    core,
    server,
    port,
    async connect(allowHalfOpen = false) {
      const c = await TcpClient.connect(port, allowHalfOpen);
      clients.push(c);
      return c;
    },
    async pair(a = 'alice', b = 'bob', allowHalfOpen = false) {
      const ca = await env.connect(allowHalfOpen);
      const cb = await env.connect(allowHalfOpen);
      await ca.register(a);
      await cb.register(b);
      assert.equal(await ca.next(), `{"cmd":"pair","uco":"${b}"}`);
      assert.equal(await cb.next(), `{"cmd":"pair","uco":"${a}"}`);
      return [ca, cb];
    },
  };
  return env;
}

/** Resolves once `socket` has closed. */
function socketClosed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
}

/** `promise`, or a rejection naming `what` after `ms` (a bound, never a measure of speed). */
function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function closedEvent(core: RouletteCore, uco: string): Promise<ConnectionClosedEvent> {
  return new Promise((resolve) => {
    const listener = (e: ConnectionClosedEvent): void => {
      if (e.uco !== uco) return;
      core.off('connectionClosed', listener);
      resolve(e);
    };
    core.on('connectionClosed', listener);
  });
}

describe('TCP server', () => {
  test('listen: port 0 binds a free port; remote address is ip:port; EADDRINUSE rejects', T, async (t) => {
    const env = await setup(t);
    assert.equal(env.server.address().host, '127.0.0.1');
    assert.ok(env.port > 0);
    let address: string | undefined;
    env.core.once('connectionOpened', (e) => (address = e.remoteAddress));
    const c = await env.connect();
    await c.register('alice');
    assert.equal(address, `127.0.0.1:${c.socket.localPort}`);
    assert.equal(env.server.connections, 1);
    await assert.rejects(listen(env.core, { host: '127.0.0.1', port: env.port }), { code: 'EADDRINUSE' });
  });

  test('PROTOCOL §1 framing: CRLF terminators are accepted and not relayed', T, async (t) => {
    const env = await setup(t);
    const c = await env.connect();
    c.send('{"cmd":"connect","uco":"alice","nonce":5}\r\n');
    assert.equal(await c.next(), '{"ack":"5"}');
    const d = await env.connect();
    c.send('\r\n   \n');
    d.send('{"cmd":"connect","uco":"bob","nonce":6}\r\n');
    assert.equal(await d.next(), '{"ack":"6"}');
    assert.equal(await c.next(), '{"cmd":"pair","uco":"bob"}');
    assert.equal(await d.next(), '{"cmd":"pair","uco":"alice"}');
    c.send('{"cmd":"comm","x":1}\r\n');
    assert.equal(await d.next(), '{"cmd":"comm","x":1}');
  });

  test('PROTOCOL §1 framing: a message split byte by byte', T, async (t) => {
    const env = await setup(t);
    const c = await env.connect();
    for (const byte of Buffer.from('{"cmd":"connect","uco":"alice","nonce":"é1"}\n')) await c.write(Buffer.of(byte));
    assert.equal(await c.next(), '{"ack":"é1"}');
  });

  test('PROTOCOL §1 framing: several messages in one write', T, async (t) => {
    const env = await setup(t);
    const c = await env.connect();
    c.send('{"cmd":"connect","uco":"alice","nonce":1}\n{"cmd":"connect","uco":"alice","nonce":2}\n{"cmd":"comm"}\n{"cmd":"what"}\n');
    assert.equal(await c.next(), '{"ack":"1"}');
    assert.equal(await c.next(), '{"ack":"2"}');
    assert.equal(await c.next(), '{"error":"no peer","msg":{"cmd":"comm"}}');
    assert.equal(await c.next(), '{"error":"Unknown command [what]"}');
  });

  test('PROTOCOL §3 comm: relayed byte for byte (spacing, key order, a 25-digit integer)', T, async (t) => {
    const env = await setup(t);
    const [alice, bob] = await env.pair();
    const odd = '{ "z" : 1,"cmd":   "comm" ,"big": 1234567890123456789012345, "t":"é\\u00e9 ✓", "a":[ 1 ,2 ] }';
    alice.send(`${odd}\n`);
    await bob.received(bob.lines.length + 1);
    assert.ok(Buffer.from(odd).equals(bob.raw.at(-1) as Buffer), `got ${bob.lines.at(-1)}`);
    assert.equal(await bob.next(), odd);
  });

  test('PROTOCOL §3 comm: the lines of one write arrive byte for byte, CRLF ones without their "\\r"; a run of lines is written on as a slice of the input, not copied', T, async (t) => {
    const env = await setup(t);
    const [alice, bob] = await env.pair();
    // A run of plain lines in one write (one read on loopback): relayed without a copy.
    const run = Array.from({ length: 20 }, (_, i) => `{"cmd":"comm","i":${i},"p":"${'x'.repeat(30 + (i % 3))}"}`);
    const runBytes = run.reduce((n, l) => n + l.length + 1, 0);
    const allocUnsafe = Buffer.allocUnsafe;
    let copies = 0;
    Buffer.allocUnsafe = (size: number): ReturnType<typeof allocUnsafe> => {
      // The batch copy of the stream adapter (not this test's own line reader).
      if (size === runBytes && (new Error().stack ?? '').includes('StreamTransport.flush')) copies++;
      return allocUnsafe(size);
    };
    try {
      const before = bob.lines.length;
      await alice.write(run.map((l) => `${l}\n`).join(''));
      await bob.received(before + run.length);
      assert.deepEqual(bob.lines.slice(before), run);
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
    }
    assert.equal(copies, 0, 'the run was copied');
    // Mixed: CRLF lines (their "\r" is not relayed), an own-uco line, long and short
    // lines, and a line split across two writes: each arrives exactly.
    const mixed = Array.from({ length: 300 }, (_, i) => {
      const body = i % 5 === 0 ? `{"cmd":"comm","uco":"alice","i":${i}}` : `{"cmd":"comm","i":${i},"p":"${'y'.repeat((i * 37) % 1500)}"}`;
      return { body, crlf: i % 7 === 0 };
    });
    const wire = Buffer.from(mixed.map((m) => `${m.body}${m.crlf ? '\r\n' : '\n'}`).join(''));
    const before = bob.lines.length;
    const cut = Math.floor(wire.length / 3) + 5;
    await alice.write(wire.subarray(0, cut));
    await alice.write(wire.subarray(cut));
    await bob.received(before + mixed.length);
    const got = bob.raw.slice(before);
    mixed.forEach((m, i) => assert.ok(Buffer.from(m.body).equals(got[i] as Buffer), `line ${i}: got ${String(got[i])}`));
  });

  test('PROTOCOL §1: a line longer than maxLineBytes is answered "message too long"; the connection still works', T, async (t) => {
    const env = await setup(t);
    const c = await env.connect();
    c.send(`{"cmd":"comm","t":"${'x'.repeat(40_000)}"}\n`);
    c.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
    assert.equal(await c.next(), '{"error":"message too long"}');
    assert.equal(await c.next(), '{"ack":"1"}');
  });

  test('PROTOCOL §1: a 10 MiB line without newline is answered once, memory bounded, then the connection works', { timeout: 30_000 }, async (t) => {
    const env = await setup(t);
    const maxLine = env.core.options.maxLineBytes;
    let held = 0;
    // Sample what the core holds for unfinished lines after every chunk the server reads.
    env.server.server.on('connection', (socket: net.Socket) =>
      socket.on('data', () => {
        for (const conn of inspectCore(env.core).connections) held = Math.max(held, conn.inputBufferedBytes);
      }),
    );
    const c = await env.connect();
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 10; i++) await c.write(mib);
    await c.write('\n{"cmd":"connect","uco":"alice","nonce":1}\n');
    assert.equal(await c.next(), '{"error":"message too long"}');
    assert.equal(await c.next(), '{"ack":"1"}');
    assert.ok(held <= maxLine + 1, `held ${held} bytes for one line`);
    assert.equal(c.lines.length, 2);
  });

  test('PROTOCOL §1: invalid JSON and non-object messages are answered; the connection stays open', T, async (t) => {
    const env = await setup(t);
    const c = await env.connect();
    c.send('{"cmd":"connect",\n[1,2]\n"text"\nnull\n');
    assert.equal(await c.next(), '{"error":"invalid json"}');
    for (let i = 0; i < 3; i++) assert.equal(await c.next(), '{"error":"invalid message"}');
    await c.register('alice');
  });

  test('PROTOCOL §5: an abruptly closed client frees its peer, which is paired again with a newcomer', T, async (t) => {
    const env = await setup(t);
    const [alice, bob] = await env.pair();
    const closed = closedEvent(env.core, 'alice');
    alice.socket.destroy();
    assert.equal((await closed).reason, 'transport closed');
    assert.equal(env.core.client('bob')?.peer, undefined);
    const carol = await env.connect();
    await carol.register('carol');
    assert.equal(await carol.next(), '{"cmd":"pair","uco":"bob"}');
    assert.equal(await bob.next(), '{"cmd":"pair","uco":"carol"}');
  });

  test('PROTOCOL §3 connect: the same uco on a second socket takes over; the old one gets "new session" then EOF', T, async (t) => {
    const env = await setup(t);
    const first = await env.connect();
    await first.register('alice', 1);
    const second = await env.connect();
    await second.register('alice', 2);
    assert.equal(await first.next(), '{"exit":true,"reason":"new session"}');
    await first.end();
    assert.equal(env.core.client('alice')?.connectionId !== undefined, true);
    second.send({ cmd: 'connect', uco: 'alice', nonce: 3 });
    assert.equal(await second.next(), '{"ack":"3"}');
  });

  test('PROTOCOL §7: server.close() sends "server shutdown" to each connection, flushes and closes them', T, async (t) => {
    const env = await setup(t);
    const [alice, bob] = await env.pair();
    const loner = await env.connect();
    await env.server.close();
    for (const c of [alice, bob, loner]) {
      assert.equal(await c.next(), '{"exit":true,"reason":"server shutdown"}');
      await c.end();
    }
    assert.equal(env.server.connections, 0);
    assert.equal(env.core.stats().connections, 0);
    assert.equal(env.core.running, true, 'the core keeps running');
    await assert.rejects(TcpClient.connect(env.port), { code: 'ECONNREFUSED' });
  });

  // The course's Java and Python clients read the notice but never close their socket.
  test('PROTOCOL §7 close({ graceMs }): a client that reads the notice but never closes is destroyed after the grace', T, async (t) => {
    // No drain timeout: without the grace, close() would wait for these clients forever.
    const env = await setup(t, {}, Infinity);
    const [alice, bob] = await env.pair('alice', 'bob', true);
    const loner = await env.connect(true);
    await within('close({ graceMs: 100 })', env.server.close({ graceMs: 100 }), WAIT_MS);
    for (const c of [alice, bob, loner]) {
      assert.equal(await c.next(), '{"exit":true,"reason":"server shutdown"}');
      await c.end(); // the server's end; the client's side stays open
      assert.equal(c.socket.closed, false);
    }
    assert.equal(env.server.connections, 0, 'the server let go of them all the same');
    assert.equal(env.core.stats().connections, 0);
  });

  test('PROTOCOL §7 close({ graceMs }): a client that never reads, with output pending, is destroyed after the grace', T, async (t) => {
    const env = await setup(t, { maxBufferedBytes: Infinity }, Infinity);
    const [alice, bob] = await env.pair();
    alice.socket.pause(); // never reads again
    const line = `${JSON.stringify({ cmd: 'comm', p: 'x'.repeat(1_000) })}\n`;
    bob.send(line.repeat(8_192)); // 8 MiB for alice, more than the socket buffers hold
    await within('alice to stop reading with data waiting', new Promise<void>((resolve) => {
      const check = (): void => (alice.socket.readableLength >= 16_384 ? resolve() : void setTimeout(check, 10));
      check();
    }), WAIT_MS);
    const closing = env.server.close({ graceMs: 100 });
    await within('close({ graceMs: 100 })', closing, WAIT_MS);
    assert.equal(env.server.connections, 0);
    assert.equal(env.core.stats().connections, 0);
    // Reading again, alice finds the end of what the server could send: it cut her off.
    alice.socket.resume();
    await within('alice\'s socket to close', socketClosed(alice.socket), WAIT_MS);
  });

  test('close(): a second call with a shorter graceMs ends the grace sooner; an invalid graceMs throws', T, async (t) => {
    const env = await setup(t, {}, Infinity);
    await env.pair();
    assert.throws(() => env.server.close({ graceMs: -1 }), { code: 'ERR_INVALID_OPTION' });
    const first = env.server.close({ graceMs: 600_000 });
    assert.equal(env.server.close({ graceMs: 0 }), first, 'the same promise');
    await within('close()', first, WAIT_MS);
    assert.equal(env.server.connections, 0);
  });

  test('PROTOCOL §7: core.stop() sends "server shutdown" to each connection, flushes and closes them', T, async (t) => {
    const env = await setup(t);
    const [alice, bob] = await env.pair();
    env.core.stop();
    for (const c of [alice, bob]) {
      assert.equal(await c.next(), '{"exit":true,"reason":"server shutdown"}');
      await c.end();
    }
  });

  test('slow consumer: a client that stops reading is cut, its unsent backlog discarded, and reads the exit line last', { timeout: 30_000 }, async (t) => {
    // Below the 64 KiB at which its sender would be paused: the reader is cut instead.
    const env = await setup(t, { maxBufferedBytes: 32 * 1024, rateLimit: Infinity });
    const [alice, bob] = await env.pair();
    bob.socket.pause();
    const cut = closedEvent(env.core, 'bob');
    let isCut = false;
    void cut.then(() => (isCut = true));
    // Flood bob through alice until the server cuts him (the kernel's buffers fill first); bounded to 64 MiB.
    const chunk = `{"cmd":"comm","p":"${'x'.repeat(1000)}"}\n`.repeat(64);
    for (let sent = 0; !isCut && sent < 1024; sent++) await alice.write(chunk);
    const event = await cut;
    assert.equal(event.reason, 'slow consumer');
    bob.socket.resume();
    await bob.received(1);
    while (!bob.ended) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(bob.lines.at(-1), '{"exit":true,"reason":"slow consumer"}', `the exit line is the last of ${bob.lines.length} lines`);
    assert.ok(bob.lines.length < 64 * 1024, 'the backlog was discarded');
  });

  test('PROTOCOL §3 comm: 50 000 messages between one pair arrive complete and in order', { timeout: 60_000 }, async (t) => {
    // A burst far above the default rate limit (rateBurst 2000): this test is about the relay, so no limit.
    const env = await setup(t, { rateLimit: Infinity });
    const [alice, bob] = await env.pair();
    const total = 50_000;
    const base = bob.lines.length;
    const perWrite = 1_000;
    for (let i = 0; i < total; i += perWrite) {
      let batch = '';
      for (let j = i; j < i + perWrite; j++) batch += `{"cmd":"comm","seq":${j}}\n`;
      alice.send(batch);
    }
    await bob.received(base + total);
    for (let i = 0; i < total; i++) {
      const line = bob.lines[base + i];
      if (line !== `{"cmd":"comm","seq":${i}}`) assert.fail(`line ${i}: ${line}`);
    }
    assert.equal(env.core.stats().relayedMessages, total);
    assert.deepEqual(alice.lines.slice(2), [], 'no error for the sender');
  });
});
