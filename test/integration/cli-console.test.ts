/**
 * `chat-roulette start --http … --reference-peer …` as a process on 127.0.0.1: the
 * console line on stdout, a student over TCP graded live by the in-process reference
 * peer, the round log file, and the refusal of a console without a token on a
 * non-loopback address. Every process and socket is closed after each test; every
 * wait is bounded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import { readReport, runReferencePeer, type DhReport, type ReferencePeerHandle } from '../../src/testing/index.js';
import { ServerProcess, until } from '../helpers/cli-process.js';
import { until as poll } from '../helpers/console-lab.js';

const DIR = mkdtempSync(join(tmpdir(), 'chat-roulette-cli-console-'));
const servers = new Set<ServerProcess>();
const peers = new Set<ReferencePeerHandle>();

afterEach(async () => {
  await Promise.all([...peers].map((p) => p.close()));
  peers.clear();
  for (const server of servers) server.kill();
  servers.clear();
});
after(() => rmSync(DIR, { recursive: true, force: true }));

function start(extra: readonly string[], env: Record<string, string> = {}): ServerProcess {
  const server = new ServerProcess(extra, env);
  servers.add(server);
  return server;
}

/** The URL of the `console on …` line, the second line of stdout. */
async function consoleUrl(server: ServerProcess): Promise<string> {
  await until('the console line', () => server.stdout.split('\n').length > 2 || server.exitStatus !== undefined, 20_000);
  const lines = server.stdout.split('\n');
  assert.match(lines[0] ?? '', /^listening on 127\.0\.0\.1:\d+$/, server.stderr);
  const m = /^console on (http:\/\/[^ ]+\/)$/.exec(lines[1] ?? '');
  assert.ok(m !== null, `second stdout line: ${JSON.stringify(lines[1])}; stderr: ${server.stderr}`);
  return m[1] as string;
}

test('start --http --reference-peer --round-log: "console on" line, a TCP student graded live, the round log written', { timeout: 60_000 }, async () => {
  const log = join(DIR, 'rounds.ndjson');
  const server = start(['--http', '127.0.0.1:0', '--http-token', 'T0k', '--reference-peer', '100000', '--round-log', log]);
  const url = await consoleUrl(server);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal((await fetch(new URL('healthz', url))).status, 200);
  assert.equal((await fetch(url)).status, 401, 'the token is required');

  const port = await server.port();
  const student = await runReferencePeer({ host: '127.0.0.1', port, uco: '409123' });
  peers.add(student);
  const auth = { headers: { authorization: 'Bearer T0k' } };
  await poll(
    'the round to be graded',
    async () => {
      const report = (await (await fetch(new URL('report.json', url), auth)).json()) as DhReport;
      return report.students.some((s) => s.uco === '409123' && s.successful === 1);
    },
    20_000,
  );
  await until('the round in the log', () => /round 1 with 409123 \(initiator\): ok/.test(server.stderr), 10_000);
  assert.match(server.stderr, /Reference peer 100000 runs in the server, rounds logged to /);
  assert.match(server.stderr, /Console on http:\/\/127\.0\.0\.1:\d+\/ \(token required\)/);

  process.kill(server.child.pid as number, 'SIGTERM');
  assert.deepEqual(await server.exit(15_000), { code: 0, signal: null });
  assert.equal(server.stdout.split('\n').length, 3, 'stdout holds the two lines only');
  const fromFile = await readReport(readFileSync(log, 'utf8'));
  const row = fromFile.students.find((s) => s.uco === '409123');
  assert.equal(row?.successful, 1);
});

test('start --http 0.0.0.0:… without a token is refused (exit 2) unless --http-public or the token variable is given', { timeout: 60_000 }, async () => {
  const refused = start(['--http', '0.0.0.0:0']);
  assert.equal((await refused.exit(20_000)).code, 2);
  assert.match(refused.stderr, /refusing to serve the console on 0\.0\.0\.0 without a token/);
  assert.match(refused.stderr, /--http-token T \(or CHAT_ROULETTE_HTTP_TOKEN\)/);
  assert.equal(refused.stdout, '');

  for (const [extra, env] of [
    [['--http-public'], {}],
    [[], { CHAT_ROULETTE_HTTP_TOKEN: 'from-env' }],
  ] as const) {
    const server = start(['--http', '0.0.0.0:0', ...extra], env);
    const url = await consoleUrl(server);
    assert.match(url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
    const port = new URL(url).port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, env.CHAT_ROULETTE_HTTP_TOKEN === undefined ? {} : { headers: { authorization: 'Bearer from-env' } });
    assert.equal(res.status, 200);
    await res.text();
    process.kill(server.child.pid as number, 'SIGTERM');
    assert.equal((await server.exit(15_000)).code, 0);
  }
});

test('start: --round-log without --reference-peer, a bad --http, a bad --reference-peer uco are usage errors (exit 2)', { timeout: 60_000 }, async () => {
  for (const [extra, message] of [
    [['--round-log', join(DIR, 'x.ndjson')], /--round-log needs --reference-peer/],
    [['--http', 'localhost'], /invalid value for --http: 'localhost'/],
    [['--http-public'], /--http-public needs --http/],
    [['--reference-peer', 'not valid!'], /invalid value for --reference-peer: 'not valid!'/],
  ] as const) {
    const server = start(extra);
    assert.equal((await server.exit(20_000)).code, 2, extra.join(' '));
    assert.match(server.stderr, message);
  }
});
