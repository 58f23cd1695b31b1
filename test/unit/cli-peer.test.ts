/**
 * `chat-roulette peer` (src/cli/commands/peer.ts) called in-process: a bad `--log`
 * path is a one-line error and exit code 1, and a run leaves no signal handlers
 * behind. Every socket is closed; every wait is bounded by the test timeout.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import peer from '../../src/cli/commands/peer.js';
import { EXIT, type CliIo } from '../../src/cli/command.js';

const TIMEOUT_MS = 10_000;

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text) };
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('chat-roulette peer', { timeout: TIMEOUT_MS }, () => {
  it('--log in a missing directory: one-line error, exit 1, before connecting', async () => {
    const io = captureIo();
    const port = await freePort();
    const code = await peer.run(['--uco', 'ref1', '--port', String(port), '--log', '/nonexistent/x.ndjson'], io);
    assert.equal(code, EXIT.failure);
    const err = io.stderr.join('');
    assert.equal(err.split('\n').filter(Boolean).length, 1, err);
    assert.match(err, / ERROR cannot open --log \/nonexistent\/x\.ndjson: ENOENT/);
    assert.deepEqual(io.stdout, []);
  });

  it('removes its SIGINT / SIGTERM handlers once the connection closes', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    try {
      const code = await peer.run(['--uco', 'ref1', '--port', String(port), '--quiet'], captureIo());
      assert.equal(code, EXIT.failure);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before);
  });
});
