/**
 * The stream adapter over in-process duplex pairs, with the core on a ManualClock.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { ManualClock, RouletteCore, RouletteError, type ConnectionClosedEvent, type ConnectionHandle, type RouletteOptions } from '../../src/index.js';
import type { Transport } from '../../src/core/transport.js';
import { attachStream, connectInProcess, duplexPair, type StreamOptions } from '../../src/transports/index.js';
import { READ_BYTES_PER_TURN } from '../../src/transports/stream.js';
import { inputBuffered, isClosed } from '../helpers/core.js';
import { LineReader } from '../helpers/line-reader.js';

/** Every test is bounded in time. */
const T = { timeout: 5_000 };
/** Both ends behave like sockets: an end read is answered with an end. */
const SOCKET_LIKE = { allowHalfOpen: false };

interface Client {
  /** The client's end. */
  client: Duplex;
  /** The server's end, attached to the core. */
  server: Duplex;
  handle: ConnectionHandle;
  reader: LineReader;
  send(message: object | string): void;
}

function setup(options: RouletteOptions = {}): { clock: ManualClock; core: RouletteCore; open(streamOptions?: StreamOptions): Client } {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, ...options });
  core.start();
  return {
    clock,
    core,
    open(streamOptions: StreamOptions = {}): Client {
      const [client, server] = duplexPair(SOCKET_LIKE);
      const handle = attachStream(core, server, streamOptions);
      const reader = new LineReader(client);
      return {
        client,
        server,
        handle,
        reader,
        send: (message) => client.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`),
      };
    },
  };
}

async function register(c: Client, uco: string): Promise<void> {
  c.send({ cmd: 'connect', uco, nonce: 1 });
  assert.equal(await c.reader.next(), '{"ack":"1"}');
}

/** Two registered clients, paired. */
async function pairOf(env: ReturnType<typeof setup>): Promise<[Client, Client]> {
  const alice = env.open();
  const bob = env.open();
  await register(alice, 'alice');
  await register(bob, 'bob');
  env.core.pairFreeClients();
  assert.equal(await alice.reader.next(), '{"cmd":"pair","uco":"bob"}');
  assert.equal(await bob.reader.next(), '{"cmd":"pair","uco":"alice"}');
  return [alice, bob];
}

/** Waits, turn by turn of the event loop, until `predicate` holds (bounded by the test timeout). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

/** One turn of the event loop. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A server-side socket read the way libuv reads one: {@link pollReads} pushes up to 32
 * chunks in one turn while the socket is reading, a refused push stops reading until
 * the stream asks again (`_read`), and each read's callbacks (process.nextTick) run
 * before the next read. What the server writes is logged, line by line, by name.
 */
class PolledSocket extends Duplex {
  reading = true;
  readonly lines: string[] = [];

  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {
    // Writes always fit: no relay backpressure in these tests unless asked for.
    super({ ...SOCKET_LIKE, writableHighWaterMark: 64 * 1024 * 1024 });
  }

  override _read(): void {
    this.reading = true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      this.lines.push(line);
      this.log.push(this.name);
    }
    callback();
  }

  say(message: object): void {
    this.push(`${JSON.stringify(message)}\n`);
  }
}

/** One poll phase's reads of `socket`: up to 32 chunks while it reads (uv__read's loop). */
async function pollReads(socket: PolledSocket, chunks: Buffer[]): Promise<number> {
  let reads = 0;
  while (reads < 32 && socket.reading && chunks.length > 0) {
    reads++;
    if (!socket.push(chunks.shift())) socket.reading = false;
    await new Promise((resolve) => process.nextTick(resolve));
  }
  return reads;
}

function nextClosed(core: RouletteCore): Promise<ConnectionClosedEvent> {
  return new Promise((resolve) => core.once('connectionClosed', resolve));
}

describe('stream adapter', () => {
  test('PROTOCOL §1 framing: a message split across chunks, several in one chunk', T, async () => {
    const env = setup();
    const c = env.open();
    const line = '{"cmd":"connect","uco":"alice","nonce":7}\n';
    for (const ch of line) c.client.write(ch);
    assert.equal(await c.reader.next(), '{"ack":"7"}');
    c.client.write('{"cmd":"connect","uco":"alice","nonce":8}\n{"cmd":"connect","uco":"alice","nonce":9}\n{"cmd":"nope"}\n');
    assert.equal(await c.reader.next(), '{"ack":"8"}');
    assert.equal(await c.reader.next(), '{"ack":"9"}');
    assert.equal(await c.reader.next(), '{"error":"Unknown command [nope]"}');
    env.core.stop();
  });

  test('PROTOCOL §1 framing: CRLF and blank lines', T, async () => {
    const env = setup();
    const c = env.open();
    c.client.write('\r\n  \n{"cmd":"connect","uco":"alice","nonce":1}\r\n');
    assert.equal(await c.reader.next(), '{"ack":"1"}');
    env.core.stop();
  });

  test('PROTOCOL §1: an oversized line is answered once and the input buffer stays bounded', T, async () => {
    const env = setup({ maxLineBytes: 1024 });
    const c = env.open();
    const chunk = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 64; i++) {
      await new Promise<void>((resolve, reject) => c.client.write(chunk, (e) => (e ? reject(e) : resolve())));
      const held = inputBuffered(env.core, c.handle);
      assert.ok(held <= 1025, `held ${held} bytes`);
    }
    c.client.write('\n');
    c.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
    assert.equal(await c.reader.next(), '{"error":"message too long"}');
    assert.equal(await c.reader.next(), '{"ack":"1"}');
    env.core.stop();
  });

  test('PROTOCOL §3 comm: the peer receives the line byte for byte, in order', T, async () => {
    const env = setup();
    const [alice, bob] = await pairOf(env);
    const odd = '{ "cmd" :"comm",  "z":1, "a":"é", "n":1234567890123456789012345 }';
    alice.client.write(`${odd}\r\n`);
    assert.equal(await bob.reader.next(), odd);
    assert.deepEqual(bob.reader.raw.at(-1), Buffer.from(odd));
    const batch = Array.from({ length: 1000 }, (_, i) => `{"cmd":"comm","i":${i}}\n`).join('');
    alice.client.write(batch);
    for (let i = 0; i < 1000; i++) assert.equal(await bob.reader.next(), `{"cmd":"comm","i":${i}}`);
    env.core.stop();
  });

  test('PROTOCOL §3 comm: send after the peer stream is destroyed fails, the sender gets {"error":"failed"}', T, async () => {
    const env = setup();
    const [alice, bob] = await pairOf(env);
    // Destroyed, but its 'close' has not been delivered yet: the transport refuses the write.
    bob.server.destroy();
    alice.handle.feed(Buffer.from('{"cmd":"comm","text":"hi"}\n'));
    assert.equal(await alice.reader.next(), '{"error":"failed","msg":{"cmd":"comm","text":"hi"}}');
    assert.equal(env.core.stats().errors.failed, 1);
    env.core.stop();
  });

  test('PROTOCOL §5: a client that closes its stream is removed at once and its peer freed', T, async () => {
    const env = setup();
    const [alice, bob] = await pairOf(env);
    const closed = nextClosed(env.core);
    bob.client.destroy();
    const event = await closed;
    assert.equal(event.uco, 'bob');
    assert.equal(event.reason, 'transport closed');
    assert.equal(env.core.client('alice')?.peer, undefined);
    assert.equal(env.core.stats().connections, 1);
    assert.ok(bob.server.destroyed);
    assert.equal(isClosed(env.core, alice.handle), false);
    env.core.stop();
  });

  test('PROTOCOL §5: a stream error removes the client, with the error, and is not left unhandled', T, async () => {
    const env = setup();
    const c = env.open();
    await register(c, 'alice');
    const closed = nextClosed(env.core);
    c.server.destroy(new Error('boom'));
    const event = await closed;
    assert.equal(event.reason, 'transport error');
    assert.equal(event.error?.message, 'boom');
    assert.equal(env.core.stats().clients, 0);
    assert.equal(isClosed(env.core, c.handle), true);
    env.core.stop();
  });

  test('PROTOCOL §5: a half-close removes the client at once; the server ends its side', T, async () => {
    const env = setup();
    const c = env.open();
    await register(c, 'alice');
    const closed = nextClosed(env.core);
    c.client.end();
    assert.equal((await closed).reason, 'transport closed');
    assert.equal(env.core.stats().clients, 0);
    await c.reader.end();
    await until(() => c.server.destroyed);
    env.core.stop();
  });

  test('PROTOCOL §3 exit: the reply, then the end of the stream', T, async () => {
    const env = setup();
    const c = env.open();
    await register(c, 'alice');
    c.send({ cmd: 'exit' });
    assert.equal(await c.reader.next(), '{"exit":true,"reason":"client exit"}');
    await c.reader.end();
    env.core.stop();
  });

  test('PROTOCOL §7: core.stop() sends the shutdown notice, flushes and ends every stream', T, async () => {
    const env = setup();
    const a = env.open();
    const b = env.open();
    await register(a, 'alice');
    env.core.stop();
    for (const c of [a, b]) {
      assert.equal(await c.reader.next(), '{"exit":true,"reason":"server shutdown"}');
      await c.reader.end();
      await until(() => c.server.destroyed);
    }
  });

  test('drainTimeoutMs: a frozen client is destroyed after the drain timeout, not before', T, async () => {
    const env = setup();
    const [client, server] = duplexPair(); // the client end is never read
    const handle = attachStream(env.core, server, { drainTimeoutMs: 500 });
    client.on('error', () => undefined);
    env.core.disconnect(handle, 'server shutdown');
    assert.equal(isClosed(env.core, handle), true);
    await new Promise((resolve) => setImmediate(resolve));
    env.clock.advance(499);
    assert.equal(server.destroyed, false);
    env.clock.advance(1);
    assert.equal(server.destroyed, true);
    env.core.stop();
  });

  test('backpressure: a sender is paused while its peer holds much unsent output, resumed on drain', T, async () => {
    const env = setup();
    const [alice, bob] = await pairOf(env);
    bob.client.pause(); // bob stops reading
    const text = 'x'.repeat(1000);
    const batch = Array.from({ length: 200 }, (_, i) => `{"cmd":"comm","i":${i},"t":"${text}"}\n`).join('');
    alice.client.write(batch);
    await until(() => alice.server.isPaused());
    await new Promise((resolve) => setImmediate(resolve)); // output is written once per tick
    assert.ok(bob.server.writableLength > 64 * 1024, `bob holds ${bob.server.writableLength} bytes`);
    assert.equal(isClosed(env.core, bob.handle), false);
    bob.client.resume();
    await until(() => !alice.server.isPaused());
    for (let i = 0; i < 200; i++) assert.equal(JSON.parse(await bob.reader.next()).i, i);
    env.core.stop();
  });

  test('slow consumer: the backlog the stream has not taken is discarded; the client reads the exit line last', T, async () => {
    // Below the 64 KiB at which the sender would be paused: bob is cut instead.
    const env = setup({ maxBufferedBytes: 48 * 1024, rateLimit: Infinity });
    const [alice, bob] = await pairOf(env);
    bob.client.pause(); // bob stops reading
    const closed = nextClosed(env.core);
    const line = (i: number): string => `{"cmd":"comm","i":${i},"t":"${'x'.repeat(1000)}"}\n`;
    // One batch per write: the first fills the stream, the next ones queue in the transport.
    for (let i = 0; i < 100 && !isClosed(env.core, bob.handle); i++) {
      alice.client.write(line(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await closed).reason, 'slow consumer');
    bob.client.resume();
    await until(() => bob.reader.ended);
    const comms = bob.reader.lines.filter((l) => l.startsWith('{"cmd":"comm"'));
    assert.equal(bob.reader.lines.at(-1), '{"exit":true,"reason":"slow consumer"}');
    assert.ok(comms.length < 48, `the queued backlog was discarded (${comms.length} lines read)`);
    comms.forEach((l, i) => assert.equal(JSON.parse(l).i, i, 'what was read is the start of the output, in order'));
    env.core.stop();
  });

  test('a write error or a destroyed stream never throws into the core', T, async () => {
    const env = setup();
    const c = env.open();
    await register(c, 'alice');
    c.server.destroy();
    env.clock.advance(1000); // a ping to a destroyed stream
    await until(() => isClosed(env.core, c.handle));
    env.core.stop();
  });

  test('connectInProcess: a client Duplex talking to the core, reported as "in-process"', T, async () => {
    const env = setup();
    let address: string | undefined;
    env.core.once('connectionOpened', (e) => (address = e.remoteAddress));
    const socket = connectInProcess(env.core);
    const reader = new LineReader(socket);
    socket.write('{"cmd":"connect","uco":"alice","nonce":3}\n');
    assert.equal(await reader.next(), '{"ack":"3"}');
    assert.equal(address, 'in-process');
    socket.end();
    await reader.end();
    env.core.stop();
  });

  test('fairness: a flooding sender yields after 64 KiB in a turn; a quiet pair is served between its chunks', T, async () => {
    const env = setup({ rateLimit: Infinity });
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => {
      const socket = new PolledSocket(name, log);
      attachStream(env.core, socket);
      return socket;
    }) as [PolledSocket, PolledSocket, PolledSocket, PolledSocket];
    for (const [x, y, ux, uy] of [[a, b, 'alice', 'bob'], [c, d, 'carol', 'dave']] as const) {
      x.say({ cmd: 'connect', uco: ux, nonce: 1 });
      y.say({ cmd: 'connect', uco: uy, nonce: 1 });
      await until(() => x.lines.length > 0 && y.lines.length > 0);
      env.core.pairFreeClients();
      await until(() => x.lines.some((l) => l.includes('"pair"')) && y.lines.some((l) => l.includes('"pair"')));
    }
    log.length = 0;
    // 32 reads of 60 lines (61 KiB each, below the relay's pause threshold): 2 MiB
    // that libuv would hand over in one turn.
    const linesPerChunk = 60;
    const chunk = Buffer.from(`{"cmd":"comm","p":"${'x'.repeat(1000)}"}\n`.repeat(linesPerChunk));
    const flood = Array.from({ length: 32 }, () => chunk);
    // One poll phase: the flooding socket is read first, then the quiet one.
    const reads = await pollReads(a, flood);
    c.say({ cmd: 'comm', quiet: true });
    await until(() => d.lines.some((l) => l.includes('quiet')));
    const floodBefore = log.slice(0, log.indexOf('d')).filter((n) => n === 'b').length;
    // Two reads reach 64 KiB; the third is held, unprocessed, and stops the reading.
    assert.ok(reads <= 3, `the flooding socket stopped reading after ${reads} reads`);
    assert.ok(floodBefore <= 2 * linesPerChunk, `${floodBefore} flood lines were relayed before the quiet line`);
    // The rest of the flood goes on, turn by turn, in order and complete.
    for (let turns = 0; flood.length > 0 && turns < 1_000; turns++) {
      await nextTurn();
      await pollReads(a, flood);
    }
    await until(() => b.lines.length >= 1 + 32 * linesPerChunk);
    assert.equal(b.lines.filter((l) => l.startsWith('{"cmd":"comm"')).length, 32 * linesPerChunk);
    env.core.stop();
  });

  test('fairness and backpressure: the end of a turn does not resume a sender the core paused, nor the reverse', T, async () => {
    const env = setup({ rateLimit: Infinity });
    let transport: Transport | undefined;
    // attachStream uses the core's clock and connect only: catch the transport it gives.
    const spy = { clock: env.core.clock, connect: (t: Transport) => ((transport = t), env.core.connect(t)) } as unknown as RouletteCore;
    const log: string[] = [];
    const socket = new PolledSocket('a', log);
    attachStream(spy, socket);
    const t = transport as Transport;
    const big = [Buffer.alloc(READ_BYTES_PER_TURN, ' ')];

    // Paused by the core (backpressure), then a turn's share used up: still paused after the turn.
    t.pause?.();
    assert.equal(socket.isPaused(), true);
    t.resume?.();
    assert.equal(socket.isPaused(), false);
    await pollReads(socket, big);
    assert.equal(socket.isPaused(), true, 'yielded for the rest of the turn');
    t.pause?.();
    await nextTurn();
    await nextTurn();
    assert.equal(socket.isPaused(), true, 'the end of the turn left the backpressure pause alone');
    t.resume?.();
    assert.equal(socket.isPaused(), false);

    // Yielding, then paused and resumed by the core within the turn: still paused until the turn ends.
    await nextTurn();
    big.push(Buffer.alloc(READ_BYTES_PER_TURN, ' '));
    socket.reading = true;
    await pollReads(socket, big);
    assert.equal(socket.isPaused(), true, 'yielded for the rest of the turn');
    t.pause?.();
    t.resume?.();
    assert.equal(socket.isPaused(), true, 'the backpressure resume left the fairness pause alone');
    await nextTurn();
    assert.equal(socket.isPaused(), false, 'read again at the next turn');
    env.core.stop();
  });

  test('options: an invalid drainTimeoutMs is a RouletteError', T, () => {
    const env = setup();
    const [, server] = duplexPair();
    assert.throws(() => attachStream(env.core, server, { drainTimeoutMs: -1 }), (e: unknown) => e instanceof RouletteError && e.code === 'ERR_INVALID_OPTION');
    assert.equal(env.core.stats().connections, 0);
    env.core.stop();
  });
});
