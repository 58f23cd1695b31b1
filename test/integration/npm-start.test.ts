/**
 * PROTOCOL §9 through npm, as a newcomer runs it: the README's `npm start` command
 * serves from the build made at install (no rebuild), prints nothing but the
 * listening line on stdout, and stops with exit code 0 — npm and the server both —
 * on SIGTERM to npm's pid or a terminal's Ctrl-C (SIGINT to the process group). The
 * built bin keeps its execute bit. Real processes and sockets on 127.0.0.1; every
 * wait is bounded; only the processes started here are signalled, by pid.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { LineClient, ROOT, SHUTDOWN, until } from '../helpers/cli-process.js';
import { TEST_TIMEOUT_MS } from '../helpers/bounds.js';

const BIN = join(ROOT, 'dist/cli/main.js');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const T = { timeout: TEST_TIMEOUT_MS };
const skip =
  process.platform !== 'linux'
    ? 'needs Linux (/proc) to find the server under npm'
    : existsSync(BIN)
      ? false
      : 'dist/ is not built: run `npm ci` (it builds) or `npm run build` to test the installed command';

const started: ChildProcess[] = [];
/** Servers found under npm: killed too if a failing test left them behind. */
const servers: number[] = [];
const clients: LineClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.socket.destroy();
  for (const pid of servers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
});

/** The README's command that runs the server from a clone: `npm ci && npm start …`. */
function readmeStartCommand(): string[] {
  const line = README.split('\n').find((l) => l.startsWith('npm ci && npm start'));
  assert.ok(line !== undefined, 'the README shows how to start the server from a clone');
  return line.replace(/^npm ci && /, '').trim().split(/\s+/);
}

/** Pids of the processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  servers.push(...children);
  return children;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface NpmServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly out: () => string;
  readonly err: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the README's command with `-- --host 127.0.0.1 --port 0`, until the listening line. */
async function npmStart(detached: boolean): Promise<NpmServer> {
  const [npm, ...args] = readmeStartCommand();
  assert.equal(npm, 'npm');
  const child = spawn('npm', [...args, '--', '--host', '127.0.0.1', '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  await until('the listening line', () => stdout.includes('\n') || child.exitCode !== null);
  const port = Number(/^listening on 127\.0\.0\.1:(\d+)\n/.exec(stdout)?.[1]);
  assert.ok(port > 0, `stdout: ${JSON.stringify(stdout)} stderr: ${stderr}`);
  return { child, port, out: () => stdout, err: () => stderr, exited };
}

/** A registered client that, like the course's, never closes its socket. */
function courseClient(port: number): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => {
      const client = new LineClient(socket);
      clients.push(client);
      client.send({ cmd: 'connect', uco: '67', nonce: 1 });
      client.waitLine(/^\{"ack":"1"\}$/).then(() => resolve(client), reject);
    });
    socket.once('error', reject);
  });
}

describe('npm start and the installed bin', { skip }, () => {
  test('the built bin is executable after install and after every build: dist/cli/main.js --version', T, async () => {
    accessSync(BIN, constants.X_OK);
    const child = spawn(BIN, ['--version'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    const code = await new Promise((resolve) => child.on('close', resolve));
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual({ code, stdout }, { code: 0, stdout: `${version}\n` });
    // The build script restores the bit tsc drops when it recreates the file.
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(scripts.build ?? '', /chmodSync\('dist\/cli\/main\.js',\s*0o755\)/);
  });

  test('PROTOCOL §9 the README\'s npm start: no rebuild, only the listening line on stdout; SIGTERM to npm\'s pid stops the server, exit 0', T, async () => {
    const builtAt = statSync(BIN).mtimeMs;
    const server = await npmStart(false);
    assert.equal(server.out(), `listening on 127.0.0.1:${server.port}\n`);
    assert.equal(statSync(BIN).mtimeMs, builtAt, 'served from the build made at install');
    const pid = server.child.pid as number;
    const node = childrenOf(pid);
    assert.equal(node.length, 1, 'npm runs the server as its only child');
    const client = await courseClient(server.port);
    process.kill(pid, 'SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    await client.waitLine(/"server shutdown"/);
    assert.equal(client.lines.at(-1), SHUTDOWN);
    assert.equal(alive(node[0] as number), false, 'the server is gone with npm');
    assert.equal(server.out(), `listening on 127.0.0.1:${server.port}\n`, 'nothing else on stdout');
    assert.doesNotMatch(server.err(), / ERROR /);
  });

  test('PROTOCOL §9 Ctrl-C under npm start (SIGINT to the process group, npm forwards it too): exit 0', T, async () => {
    const server = await npmStart(true);
    const pid = server.child.pid as number;
    const node = childrenOf(pid);
    const client = await courseClient(server.port);
    process.kill(-pid, 'SIGINT'); // the group of the npm we started, as a terminal does
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    await client.waitLine(/"server shutdown"/);
    for (const child of node) assert.equal(alive(child), false, 'the server is gone with npm');
  });
});
