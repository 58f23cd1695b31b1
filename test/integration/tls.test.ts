/**
 * TLS: `chat-roulette start --tls-cert F --tls-key F` serves the same protocol over
 * `node:tls`. A self-signed certificate is made with the `openssl` CLI for the test
 * (skipped with a message when `openssl` is missing). 127.0.0.1 only; bounded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import tls from 'node:tls';
import net from 'node:net';
import { once } from 'node:events';
import { LineClient, ServerProcess, SHUTDOWN, until } from '../helpers/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'roulette-tls-'));
const servers: ServerProcess[] = [];
const clients: LineClient[] = [];
after(() => {
  for (const c of clients) c.socket.destroy();
  for (const s of servers) s.kill();
  rmSync(dir, { recursive: true, force: true });
});

function makeCertificate(): { cert: string; key: string } | string {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (r.error !== undefined) return `openssl is not available (${r.error.message}): install openssl (on PATH) to run the TLS tests`;
  if (r.status !== 0) return `openssl failed: ${r.stderr}`;
  return { cert, key };
}

function connectTls(port: number, ca: Buffer): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca }, () => resolve(new LineClient(socket)));
    socket.once('error', reject);
  });
}

test('TLS: a client registers, pairs, relays and gets the shutdown notice', { timeout: 60_000 }, async (t) => {
  const files = makeCertificate();
  if (typeof files === 'string') {
    t.skip(files);
    return;
  }
  const server = new ServerProcess(['--tls-cert', files.cert, '--tls-key', files.key, '--pair-delay-ms', '10']);
  servers.push(server);
  const port = await server.port();
  const ca = readFileSync(files.cert);
  const a = await connectTls(port, ca);
  const b = await connectTls(port, ca);
  clients.push(a, b);
  assert.equal(a.socket instanceof tls.TLSSocket && a.socket.authorized, true, 'the certificate is verified');
  a.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
  b.send({ cmd: 'connect', uco: 'bob', nonce: 2 });
  await a.waitLine(/^\{"ack":"1"\}$/);
  await b.waitLine(/^\{"ack":"2"\}$/);
  await a.waitLine(/^\{"cmd":"pair","uco":"bob"\}$/);
  await b.waitLine(/^\{"cmd":"pair","uco":"alice"\}$/);
  a.socket.write('{"cmd":"comm", "big":123456789012345678901234567890}\n');
  assert.equal(await b.waitLine(/"big"/), '{"cmd":"comm", "big":123456789012345678901234567890}');
  server.child.kill('SIGTERM');
  await until('both clients to get the notice', () => a.lines.includes(SHUTDOWN) && b.lines.includes(SHUTDOWN));
  assert.equal(a.lines.at(-1), SHUTDOWN);
  assert.equal(b.lines.at(-1), SHUTDOWN);
  assert.deepEqual(await server.exit(), { code: 0, signal: null });
  assert.match(server.stderr, /INFO Serving TLS/);
});

test('TLS: SIGTERM exits 0 at once even while a connection never finished its handshake', { timeout: 60_000 }, async (t) => {
  const files = makeCertificate();
  if (typeof files === 'string') {
    t.skip(files);
    return;
  }
  const server = new ServerProcess(['--tls-cert', files.cert, '--tls-key', files.key]);
  servers.push(server);
  const port = await server.port();
  const raw = net.connect(port, '127.0.0.1'); // plain TCP: no TLS handshake ever
  raw.on('error', () => undefined);
  await once(raw, 'connect');
  server.child.kill('SIGTERM');
  assert.deepEqual(await server.exit(), { code: 0, signal: null });
  raw.destroy();
});

test('TLS: a missing certificate file fails with exit code 1', { timeout: 30_000 }, async () => {
  const server = new ServerProcess(['--tls-cert', join(dir, 'nope.pem'), '--tls-key', join(dir, 'nope.key')]);
  servers.push(server);
  assert.equal((await server.exit()).code, 1);
  assert.match(server.stderr, /cannot use the TLS certificate and key/);
  assert.equal(server.stdout, '');
});
