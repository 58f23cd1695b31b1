/**
 * The PROXY protocol on the TCP server, over real sockets on 127.0.0.1 (port 0):
 * the client address of the header is the connection's (clients(), events, the
 * per-address limit), a connection without a valid header or too slow to send one
 * is closed without a reply, and `start --proxy-protocol` does the same from the
 * CLI. Every test closes what it opened.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { ManualClock, RouletteCore, type ConnectionOpenedEvent, type RouletteOptions } from '../../src/index.js';
import { listen, type ListenOptions, type RouletteServer } from '../../src/transports/index.js';
import { LineClient, ServerProcess, until } from '../helpers/cli-process.js';
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/bounds.js';

const T = { timeout: TEST_TIMEOUT_MS };

/** A v1 header for a client at `ip` (TCP4). */
function v1(ip: string, port = 51000): string {
  return `PROXY TCP4 ${ip} 10.0.0.1 ${port} 44333\r\n`;
}

/** A v2 LOCAL header, as a balancer's health check sends it. */
const V2_LOCAL = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0x00, 0x00]);

const connectLine = (uco: string): string => `${JSON.stringify({ cmd: 'connect', uco, nonce: 1 })}\n`;

interface Env {
  core: RouletteCore;
  server: RouletteServer;
  port: number;
  /** A connected client socket whose lines are collected. */
  connect(): Promise<LineClient>;
}

async function setup(t: TestContext, coreOptions: RouletteOptions = {}, listenOptions: ListenOptions = {}): Promise<Env> {
  const core = new RouletteCore(coreOptions);
  core.start();
  const server = await listen(core, { host: '127.0.0.1', port: 0, proxyProtocol: true, ...listenOptions });
  const { port } = server.address();
  const sockets: net.Socket[] = [];
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await server.close({ graceMs: 0 });
    core.stop();
  });
  const connect = (): Promise<LineClient> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      sockets.push(socket);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  return { core, server, port, connect };
}

describe('PROXY protocol: the TCP server with proxyProtocol', () => {
  test('a v1 header for 203.0.113.7: registered under that address (clients(), connectionOpened)', T, async (t) => {
    const env = await setup(t);
    const opened: ConnectionOpenedEvent[] = [];
    env.core.on('connectionOpened', (e) => opened.push(e));
    const client = await env.connect();
    // Header and first line in one chunk: the line after the header is not lost.
    client.socket.write(v1('203.0.113.7', 51000) + connectLine('203'));
    await client.waitLine(/^\{"ack":"1"\}$/);
    const [info] = env.core.clients();
    assert.equal(info?.uco, '203');
    assert.equal(info?.remoteAddress, '203.0.113.7:51000');
    assert.deepEqual(opened.map((e) => e.remoteAddress), ['203.0.113.7:51000']);
    assert.deepEqual(env.server.proxyHeaderStats(), { pending: 0, proxied: 1, local: 0, invalid: 0, timedOut: 0, closed: 0 });
  });

  test('maxConnectionsPerAddress counts the address of the header, not the balancer\'s', T, async (t) => {
    const env = await setup(t, { maxConnectionsPerAddress: 1 });
    const first = await env.connect();
    first.socket.write(v1('203.0.113.7') + connectLine('1'));
    await first.waitLine(/^\{"ack":"1"\}$/);
    // Another client behind the same balancer (the same socket address 127.0.0.1): not limited.
    const other = await env.connect();
    other.socket.write(v1('203.0.113.8') + connectLine('2'));
    await other.waitLine(/^\{"ack":"1"\}$/);
    // A second connection from 203.0.113.7, its header split from its line.
    const second = await env.connect();
    second.socket.write(v1('203.0.113.7', 51001).slice(0, 20));
    second.socket.write(v1('203.0.113.7', 51001).slice(20));
    assert.equal(await second.waitLine(/exit/), '{"exit":true,"reason":"too many connections"}');
    await until('the second connection to close', () => second.closed);
    assert.deepEqual(env.core.clients().map((c) => c.remoteAddress).sort(), ['203.0.113.7:51000', '203.0.113.8:51000']);
  });

  test('v2 LOCAL (a health check) keeps the socket\'s own address', T, async (t) => {
    const env = await setup(t);
    const client = await env.connect();
    client.socket.write(Buffer.concat([V2_LOCAL, Buffer.from(connectLine('7'))]));
    await client.waitLine(/^\{"ack":"1"\}$/);
    assert.equal(env.core.clients()[0]?.remoteAddress, `127.0.0.1:${client.socket.localPort}`);
    assert.equal(env.server.proxyHeaderStats()?.local, 1);
  });

  test('a client without a header is closed without a reply, never attached to the core', T, async (t) => {
    const env = await setup(t);
    let opened = 0;
    env.core.on('connectionOpened', () => opened++);
    const client = await env.connect();
    client.socket.write(connectLine('42'));
    await until('the connection to close', () => client.closed);
    assert.deepEqual(client.lines, []);
    assert.equal(opened, 0);
    assert.equal(env.server.proxyHeaderStats()?.invalid, 1);
    assert.equal(env.server.connections, 0);
  });

  test('no complete header within proxyHeaderTimeoutMs (core clock): closed, counted', T, async (t) => {
    const clock = new ManualClock();
    const env = await setup(t, { clock }, { proxyHeaderTimeoutMs: 5_000 });
    const client = await env.connect();
    client.socket.write('PROXY TCP4 203.0.113.7');
    await until('the header to be pending', () => env.server.proxyHeaderStats()?.pending === 1);
    clock.advance(4_999);
    assert.equal(client.closed, false);
    clock.advance(1);
    await until('the connection to close', () => client.closed);
    assert.deepEqual(client.lines, []);
    assert.deepEqual(env.server.proxyHeaderStats(), { pending: 0, proxied: 0, local: 0, invalid: 0, timedOut: 1, closed: 0 });
  });

  test('a client that ends before its header is complete: closed, counted, never attached', T, async (t) => {
    const env = await setup(t);
    let opened = 0;
    env.core.on('connectionOpened', () => opened++);
    const client = await env.connect();
    client.socket.end('PROXY TCP4 203.0.113.7 10.0.0.1');
    await until('the connection to close', () => client.closed);
    await until('the count', () => env.server.proxyHeaderStats()?.closed === 1);
    assert.deepEqual(env.server.proxyHeaderStats(), { pending: 0, proxied: 0, local: 0, invalid: 0, timedOut: 0, closed: 1 });
    assert.equal(opened, 0);
  });

  test('close() cuts connections still waiting for their header, and resolves', T, async (t) => {
    const env = await setup(t);
    const client = await env.connect();
    await until('the header to be pending', () => env.server.proxyHeaderStats()?.pending === 1);
    await env.server.close();
    await until('the connection to close', () => client.closed);
    assert.deepEqual(client.lines, []);
  });

  test('invalid options throw ERR_INVALID_OPTION', async () => {
    const core = new RouletteCore();
    await assert.rejects(listen(core, { port: 0, proxyHeaderTimeoutMs: 0 }), { code: 'ERR_INVALID_OPTION' });
    await assert.rejects(listen(core, { port: 0, proxyProtocol: 'yes' as unknown as boolean }), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('PROXY protocol: chat-roulette start --proxy-protocol', () => {
  test('203.0.113.7 is logged, limited per address; a client without a header is closed', T, async (t) => {
    const server = new ServerProcess(['--proxy-protocol', '--max-connections-per-address', '1']);
    const sockets: net.Socket[] = [];
    t.after(async () => {
      for (const socket of sockets) socket.destroy();
      server.kill();
      await server.exited;
    });
    const port = await server.port();
    const connect = async (): Promise<LineClient> => {
      const socket = net.connect({ host: '127.0.0.1', port });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      return new LineClient(socket);
    };
    const a = await connect();
    a.socket.write(v1('203.0.113.7', 51000) + connectLine('101'));
    await a.waitLine(/^\{"ack":"1"\}$/);
    await until('the log line', () => /Client connected from 203\.0\.113\.7:51000 /.test(server.stderr));
    const b = await connect();
    b.socket.write(v1('203.0.113.7', 51001) + connectLine('102'));
    assert.equal(await b.waitLine(/exit/), '{"exit":true,"reason":"too many connections"}');
    const c = await connect();
    c.socket.write(connectLine('103'));
    await until('the connection without a header to close', () => c.closed, WAIT_MS);
    assert.deepEqual(c.lines, []);
    assert.doesNotMatch(server.stderr, /Registered 103/);
  });
});
