/** The console's Server-Sent Events: throttled on the core's clock, however many events arrive. */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { createConsole } from '../../src/console/index.js';
import { SseChannel } from '../../src/console/sse.js';
import { ManualClock, MemoryConnection } from '../../src/index.js';
import { harness } from '../helpers/core.js';

/** Just enough of a ServerResponse for the console: records what is written. */
class FakeResponse extends EventEmitter {
  status = 0;
  headers: Record<string, unknown> = {};
  chunks: string[] = [];
  ended = false;
  writableNeedDrain = false;
  constructor(readonly req: { method: string }) {
    super();
  }
  writeHead(status: number, headers: Record<string, unknown> = {}): this {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(chunk?: string): this {
    if (chunk !== undefined) this.chunks.push(chunk);
    this.ended = true;
    return this;
  }
  /** The `data:` of each `event: <name>` message written. */
  events(name = 'state'): string[] {
    return this.chunks.flatMap((chunk) => {
      const m = new RegExp(`^event: ${name}\\ndata: (.*)\\n\\n$`).exec(chunk);
      return m === null ? [] : [m[1] as string];
    });
  }
}

function request(method: string, url: string, headers: Record<string, string> = { host: '127.0.0.1:8080' }): { req: IncomingMessage; res: FakeResponse } {
  const req = Object.assign(new EventEmitter(), { method, url, headers, socket: { remoteAddress: '127.0.0.1' } });
  const res = new FakeResponse(req);
  return { req: req as unknown as IncomingMessage, res };
}

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, url: string, method = 'GET'): FakeResponse {
  const { req, res } = request(method, url);
  handler(req, res as unknown as ServerResponse);
  return res;
}

test('SseChannel: at most one message per interval, built once for every stream, only after a change', () => {
  const clock = new ManualClock();
  let builds = 0;
  const channel = new SseChannel(clock, { intervalMs: 1000, heartbeatMs: 15_000 }, 'state', () => `{"n":${++builds}}`);
  const one = new FakeResponse({ method: 'GET' });
  const two = new FakeResponse({ method: 'GET' });
  channel.add(one as unknown as ServerResponse);
  channel.add(two as unknown as ServerResponse);
  assert.equal(one.status, 200);
  assert.equal(one.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.deepEqual(one.events(), ['{"n":1}'], 'the current state at once');
  assert.deepEqual(two.events(), ['{"n":2}']);

  for (let i = 0; i < 10_000; i++) channel.changed();
  clock.flush();
  assert.deepEqual(one.events(), ['{"n":1}', '{"n":3}'], '10 000 changes, one message');
  assert.deepEqual(two.events(), ['{"n":2}', '{"n":3}'], 'the same message for every stream');
  channel.changed();
  clock.advance(999);
  assert.equal(one.events().length, 2, 'not before the interval');
  clock.advance(1);
  assert.equal(one.events().length, 3);
  clock.advance(10_000);
  assert.equal(one.events().length, 3, 'nothing changed, nothing sent');
  assert.equal(builds, 4);

  // A stream that has not drained skips messages instead of buffering them.
  two.writableNeedDrain = true;
  channel.changed();
  clock.advance(1000);
  assert.equal(one.events().length, 4);
  assert.equal(two.events().length, 3);

  one.emit('close');
  assert.equal(channel.size, 1);
  channel.close({ event: 'shutdown', data: '{}' });
  assert.equal(two.ended, true);
  assert.deepEqual(two.events('shutdown'), ['{}']);
  assert.equal(clock.pendingTimers, 0);
});

test('SseChannel: without streams a change costs no build and no timer; a heartbeat comment keeps idle streams open', () => {
  const clock = new ManualClock();
  let builds = 0;
  const channel = new SseChannel(clock, { intervalMs: 1000, heartbeatMs: 15_000 }, 'state', () => `${++builds}`);
  for (let i = 0; i < 100; i++) channel.changed();
  assert.equal(builds, 0);
  assert.equal(clock.pendingTimers, 0);
  const res = new FakeResponse({ method: 'GET' });
  channel.add(res as unknown as ServerResponse);
  clock.advance(15_000);
  assert.ok(res.chunks.includes(': keepalive\n\n'));
  res.emit('close');
  clock.advance(15_000);
  assert.equal(clock.pendingTimers, 0, 'the heartbeat stops with the last stream');
});

test('createConsole: 10 000 clients connecting in one burst cost one view per update interval on the page stream', () => {
  const h = harness();
  const dashboard = createConsole(h.core, { updateIntervalMs: 1000, maxClientRows: 100 });
  const page = serve(dashboard, '/events');
  assert.equal(page.events().length, 1);
  const clients: MemoryConnection[] = [];
  for (let i = 0; i < 10_000; i++) {
    const c = new MemoryConnection(h.core);
    c.send({ cmd: 'connect', uco: `s${i}`, nonce: 1 });
    clients.push(c);
  }
  h.clock.flush();
  assert.equal(page.events().length, 2);
  h.clock.advance(h.core.options.pairDelayMs); // 5 000 pairs form
  h.clock.advance(1000);
  const views = page.events();
  assert.equal(views.length, 3);
  const last = JSON.parse(views.at(-1) as string) as { counts: { clients: number; pairs: number }; clients: unknown[] };
  assert.equal(last.counts.clients, 10_000);
  assert.equal(last.counts.pairs, 5_000);
  assert.equal(last.clients.length, 100, 'maxClientRows rows, the counts stay complete');
  dashboard.close();
  assert.equal(page.ended, true);
  assert.deepEqual(page.events('shutdown'), ['{}']);
});

test('createConsole: /healthz is 200 while serving, 503 after shutdown(), when the core stops, or when the health hook says so', () => {
  const h = harness();
  let backend = true;
  const dashboard = createConsole(h.core, { health: () => (backend ? { ok: true } : { ok: false, reason: 'cluster backend unavailable' }) });
  assert.equal(serve(dashboard, '/healthz').status, 200);
  backend = false;
  const down = serve(dashboard, '/healthz');
  assert.equal(down.status, 503);
  assert.equal(down.chunks.join(''), 'cluster backend unavailable\n');
  backend = true;
  dashboard.shutdown();
  assert.equal(serve(dashboard, '/healthz').chunks.join(''), 'shutting down\n');
  dashboard.close();
  const other = createConsole(h.core);
  h.core.stop();
  assert.equal(serve(other, '/healthz').status, 503);
  other.close();
});

test('createConsole: without a token, a request for another host name is refused (DNS rebinding), unless publicAccess', () => {
  const h = harness();
  const closed = createConsole(h.core);
  const open = createConsole(h.core, { publicAccess: true });
  for (const [dashboard, status] of [
    [closed, 403],
    [open, 200],
  ] as const) {
    const { req, res } = request('GET', '/api/state', { host: 'evil.example:8080' });
    dashboard(req, res as unknown as ServerResponse);
    assert.equal(res.status, status);
    const health = request('GET', '/healthz', { host: 'evil.example:8080' });
    dashboard(health.req, health.res as unknown as ServerResponse);
    assert.equal(health.res.status, 200, '/healthz answers any host');
    dashboard.close();
  }
});

test('createConsole: invalid options throw ERR_INVALID_OPTION', () => {
  const h = harness();
  assert.throws(() => createConsole(h.core, { sampleMs: 0 }), /console option sampleMs must be an integer >= 1/);
  assert.throws(() => createConsole(h.core, { token: '' }), /token must not be empty/);
});
