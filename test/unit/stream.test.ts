/**
 * The stream adapter over in-process duplex pairs, with the core on a ManualClock.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { ManualClock, RouletteCore, RouletteError, type ConnectionClosedEvent, type ConnectionHandle, type RouletteOptions } from '../../src/index.js';
import { attachStream, connectInProcess, duplexPair, type StreamOptions } from '../../src/transports/index.js';
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

  test('options: an invalid drainTimeoutMs is a RouletteError', T, () => {
    const env = setup();
    const [, server] = duplexPair();
    assert.throws(() => attachStream(env.core, server, { drainTimeoutMs: -1 }), (e: unknown) => e instanceof RouletteError && e.code === 'ERR_INVALID_OPTION');
    assert.equal(env.core.stats().connections, 0);
    env.core.stop();
  });
});
