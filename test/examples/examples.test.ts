/**
 * Every example runs in CI: started as a process, its visible result checked, then
 * stopped, each within a bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/bounds.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function run(example: string, args: string[] = []): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', `examples/${example}`, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the first stdout line matching `pattern`. */
function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      const match = out.match(pattern);
      if (match !== null) {
        child.stdout?.off('data', onData);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing ${pattern}; stdout: ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  return code;
}

/** A line-reading TCP client that registers and collects what it receives. */
async function tcpClient(port: number, uco: string): Promise<{ socket: net.Socket; lines: string[] }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const lines: string[] = [];
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts);
  });
  socket.write(JSON.stringify({ cmd: 'connect', uco, nonce: 1 }) + '\n');
  return { socket, lines };
}

async function until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('examples/embedding.ts counts pairs and relayed messages, then exits', { timeout: TEST_TIMEOUT_MS }, async () => {
  const child = run('embedding.ts');
  const match = await waitForLine(child, /pairs: (\d+), relayed: (\d+)/);
  assert.equal(match[1], '2');
  assert.equal(match[2], '4');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('examples/tcp-server.ts pairs two TCP clients and stops on SIGTERM with the notice', { timeout: TEST_TIMEOUT_MS }, async () => {
  const child = run('tcp-server.ts', ['0']);
  try {
    const [, port] = await waitForLine(child, /listening on 127\.0\.0\.1:(\d+)/);
    const a = await tcpClient(Number(port), 'ada');
    const b = await tcpClient(Number(port), 'bob');
    await until(() => a.lines.includes('{"cmd":"pair","uco":"bob"}'), 'ada paired with bob');
    const closed = Promise.all([once(a.socket, 'close'), once(b.socket, 'close')]);
    assert.equal(await stop(child), 0);
    await closed;
    assert.equal(a.lines.at(-1), '{"exit":true,"reason":"server shutdown"}');
    assert.equal(b.lines.at(-1), '{"exit":true,"reason":"server shutdown"}');
  } finally {
    await stop(child);
  }
});

test('examples/websocket-server.ts pairs two WebSocket clients and relays between them', { timeout: TEST_TIMEOUT_MS }, async () => {
  const child = run('websocket-server.ts', ['0']);
  const sockets: WebSocket[] = [];
  try {
    const [, port] = await waitForLine(child, /listening on 127\.0\.0\.1:(\d+)/);
    const received = new Map<string, string[]>();
    for (const uco of ['ada', 'bob']) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      sockets.push(ws);
      const lines: string[] = [];
      received.set(uco, lines);
      ws.on('message', (data: Buffer) => lines.push(data.toString('utf8')));
      await once(ws, 'open');
      ws.send(JSON.stringify({ cmd: 'connect', uco, nonce: 7 }));
    }
    const ada = received.get('ada') ?? [];
    const bob = received.get('bob') ?? [];
    await until(() => ada.includes('{"cmd":"pair","uco":"bob"}'), 'ada paired with bob');
    sockets[0]?.send('{"cmd":"comm",  "text":"hi bob"}');
    await until(() => bob.includes('{"cmd":"comm",  "text":"hi bob"}'), 'relayed line at bob');
    assert.equal(ada[0], '{"ack":"7"}');
    // PROTOCOL §1: an over-long line is answered, and the connection stays.
    sockets[0]?.send(`{"cmd":"comm","p":"${'x'.repeat(40_000)}"}`);
    await until(() => ada.includes('{"error":"message too long"}'), 'message too long at ada');
    sockets[0]?.send('{"cmd":"comm","text":"still here"}');
    await until(() => bob.includes('{"cmd":"comm","text":"still here"}'), 'the connection kept');
  } finally {
    for (const ws of sockets) ws.terminate();
    assert.equal(await stop(child), 0);
  }
});
