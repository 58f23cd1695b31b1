/** The console's /metrics: the hand-written Prometheus exposition, checked against the format. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Exposition } from '../../src/console/metrics.js';
import { GradingBoard } from '../../src/console/grading.js';
import { ConsoleState } from '../../src/console/state.js';
import { DhReferencePeer, type DhRoundEvent } from '../../src/testing/index.js';
import { harness } from '../helpers/core.js';
import { parseExposition } from '../helpers/prometheus.js';

const LIMITS = { sampleMs: 1000, samples: 300, maxClientRows: 500, recentExits: 50 };

test('Exposition: HELP, TYPE, samples, escaped label values and histograms in the 0.0.4 text format', () => {
  const text = new Exposition()
    .counter('x_total', 'A counter with a \\ and a\nnewline.', [
      { labels: { kind: 'a "quoted"\\ value\nhere' }, value: 3 },
      { labels: { kind: 'plain' }, value: 0 },
    ])
    .gauge('y', 'A gauge.', 1.5)
    .histogram('z_seconds', 'A histogram.', [0.1, 1], [2, 0, 1], 7.25)
    .text();
  assert.equal(
    text,
    [
      '# HELP x_total A counter with a \\\\ and a\\nnewline.',
      '# TYPE x_total counter',
      'x_total{kind="a \\"quoted\\"\\\\ value\\nhere"} 3',
      'x_total{kind="plain"} 0',
      '# HELP y A gauge.',
      '# TYPE y gauge',
      'y 1.5',
      '# HELP z_seconds A histogram.',
      '# TYPE z_seconds histogram',
      'z_seconds_bucket{le="0.1"} 2',
      'z_seconds_bucket{le="1"} 2',
      'z_seconds_bucket{le="+Inf"} 3',
      'z_seconds_sum 7.25',
      'z_seconds_count 3',
      '',
    ].join('\n'),
  );
  const parsed = parseExposition(text);
  assert.equal(parsed.value('x_total', { kind: 'a "quoted"\\ value\nhere' }), 3);
  assert.equal(parsed.value('z_seconds_bucket', { le: '+Inf' }), 3);
});

test('Exposition: refuses a counter without _total, a bad name or label, a family twice, wrong bucket counts', () => {
  assert.throws(() => new Exposition().counter('x', 'h', 1), /must end in _total/);
  assert.throws(() => new Exposition().gauge('x-y', 'h', 1), /invalid metric name/);
  assert.throws(() => new Exposition().gauge('x', 'h', [{ labels: { __x: 'a' }, value: 1 }]), /invalid label name/);
  assert.throws(() => new Exposition().gauge('x', 'h', 1).gauge('x', 'h', 2), /written twice/);
  assert.throws(() => new Exposition().histogram('h', 'h', [1], [1], 0), /2 counts expected/);
});

test('the test validator rejects what a scraper would (so the checks below can fail)', () => {
  const bad = [
    'x 1', // no newline at the end
    '# TYPE x_total counter\nx_total 1\n', // no HELP
    '# HELP x h\n# TYPE x counter\nx 1\n', // counter without _total
    '# HELP x h\n# TYPE x gauge\nx{a="b} 1\n', // unterminated label value
    '# HELP x h\n# TYPE x gauge\nx{a="\\t"} 1\n', // bad escape
    '# HELP x h\n# TYPE x gauge\nx one\n', // bad value
    '# HELP x h\n# TYPE x gauge\nx 1\nx 2\n', // duplicate series
    '# HELP x h\n# TYPE x gauge\nx{a="1"} 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a="2"} 1\n', // not contiguous
    '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
    '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 1\nh_count 2\n', // no +Inf
    '# HELP h h\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', // count mismatch
  ];
  for (const text of bad) assert.throws(() => parseExposition(text), Error, JSON.stringify(text));
});

function event(e: Partial<DhRoundEvent> & Pick<DhRoundEvent, 'event' | 'student' | 'round'>): DhRoundEvent {
  return { ts: '2026-12-04T10:00:00.000Z', peer: 'ref', role: 'initiator', ...e };
}

test('/metrics: every family scrapes cleanly and carries the core\'s numbers, the pair latency and line sizes, exits and DH rounds', async () => {
  const h = harness({ pairDelayMs: 100 });
  const peer = new DhReferencePeer({ uco: 'ref' });
  const grading = new GradingBoard([peer], () => undefined);
  const state = new ConsoleState(h.core, LIMITS, grading, () => undefined);

  const a = h.client('a');
  h.clock.advance(200);
  h.client('b'); // the pairing timer starts with two free clients: pair at 300
  h.clock.advance(100);
  assert.equal(h.core.client('a')?.peer, 'b');
  a.send({ cmd: 'comm', p: 'x'.repeat(100) });
  a.send({ cmd: 'comm' });
  a.send('{oops');
  h.client('c').send({ cmd: 'exit' });
  for (const e of [
    event({ event: 'pair', student: 'a', round: 1 }),
    event({ event: 'dhc_check', student: 'a', round: 1, ok: true }),
    event({ event: 'finish', student: 'a', round: 1 }),
    event({ event: 'pair', student: 'b', round: 2 }),
    event({ event: 'fail', student: 'b', round: 2, step: 'dh2_recv', reason: 'dh2 carried no dhpub' }),
    event({ event: 'pair', student: 'a', round: 3 }),
  ]) {
    peer.emit('round', e);
  }
  // The round log is written through a stream, like the --round-log file.
  await new Promise((resolve) => setImmediate(resolve));

  const m = parseExposition(state.metrics({ sseClients: 2 }));
  const stats = h.core.stats();
  assert.equal(m.value('chat_roulette_up'), 1);
  assert.equal(m.value('chat_roulette_clients'), stats.clients);
  assert.equal(m.value('chat_roulette_connections'), stats.connections);
  assert.equal(m.value('chat_roulette_pairs'), 1);
  assert.equal(m.value('chat_roulette_relayed_messages_total'), 2);
  assert.equal(m.value('chat_roulette_relayed_bytes_total'), stats.relayedBytes);
  assert.equal(m.value('chat_roulette_protocol_errors_total', { kind: 'invalid json' }), 1);
  assert.equal(m.value('chat_roulette_protocol_errors_total', { kind: 'no peer' }), 0);
  assert.equal(m.value('chat_roulette_client_exits_total', { reason: 'client exit' }), 1);
  assert.equal(m.value('chat_roulette_pairs_formed_total', { kind: 'immediate' }), 1);
  assert.equal(m.value('chat_roulette_pairs_formed_total', { kind: 'epoch' }), 0);
  assert.equal(m.value('chat_roulette_connections_opened_total'), 3);
  // a registered at 0, b at 200, paired at 300: 0.3 s and 0.1 s.
  assert.equal(m.value('chat_roulette_connect_to_pair_seconds_bucket', { le: '0.05' }), 0);
  assert.equal(m.value('chat_roulette_connect_to_pair_seconds_bucket', { le: '0.1' }), 1);
  assert.equal(m.value('chat_roulette_connect_to_pair_seconds_bucket', { le: '0.25' }), 1);
  assert.equal(m.value('chat_roulette_connect_to_pair_seconds_bucket', { le: '0.5' }), 2);
  assert.equal(m.value('chat_roulette_connect_to_pair_seconds_bucket', { le: '+Inf' }), 2);
  assert.equal(m.value('chat_roulette_connect_to_pair_seconds_count'), 2);
  assert.ok(Math.abs((m.value('chat_roulette_connect_to_pair_seconds_sum') ?? 0) - 0.4) < 1e-9);
  // One line of 114 bytes, one of 14.
  assert.equal(m.value('chat_roulette_relay_line_bytes_bucket', { le: '64' }), 1);
  assert.equal(m.value('chat_roulette_relay_line_bytes_bucket', { le: '256' }), 2);
  assert.equal(m.value('chat_roulette_relay_line_bytes_count'), 2);
  assert.equal(m.value('chat_roulette_relay_line_bytes_sum'), stats.relayedBytes);
  assert.equal(m.value('chat_roulette_console_sse_clients'), 2);
  assert.equal(m.value('chat_roulette_dh_rounds_total', { outcome: 'successful' }), 1);
  assert.equal(m.value('chat_roulette_dh_rounds_total', { outcome: 'failed' }), 1);
  assert.equal(m.value('chat_roulette_dh_rounds_incomplete'), 1);
  assert.equal(m.value('chat_roulette_dh_students'), 2);
  for (const name of m.types.keys()) assert.match(name, /^chat_roulette_/);
  state.close();
  grading.close();
});

test('/metrics: without grading there are no DH families; a stopped core is chat_roulette_up 0', () => {
  const h = harness();
  const state = new ConsoleState(h.core, LIMITS, undefined, () => undefined);
  h.core.stop();
  const m = parseExposition(state.metrics({ sseClients: 0 }));
  assert.equal(m.value('chat_roulette_up'), 0);
  assert.equal(m.types.has('chat_roulette_dh_rounds_total'), false);
  state.close();
});

test('the view: relay rate sampled on the core\'s clock, client ages, pairs once, recent exits newest first', () => {
  const h = harness();
  const changes: number[] = [];
  const state = new ConsoleState(h.core, { ...LIMITS, samples: 3, recentExits: 2 }, undefined, () => changes.push(h.clock.now()));
  const [a] = h.pair('a', 'b');
  for (let i = 0; i < 5; i++) a.send({ cmd: 'comm' });
  h.clock.advance(1000 - h.clock.now()); // first sample at 1000
  a.send({ cmd: 'comm' });
  h.clock.advance(1000);
  let view = state.view();
  assert.deepEqual(view.relayRate, { sampleMs: 1000, perSecond: [5, 1] });
  h.clock.advance(2000);
  assert.deepEqual(state.view().relayRate.perSecond, [1, 0, 0], 'at most `samples` points');
  view = state.view();
  assert.deepEqual(view.pairs, [['a', 'b']]);
  assert.equal(view.clients[0]?.uco, 'a');
  assert.equal(view.clients[0]?.connectedMs, 4000);
  assert.equal(view.clients[0]?.peer, 'b');
  for (const uco of ['c', 'd', 'e']) h.client(uco).send({ cmd: 'exit' });
  assert.deepEqual(
    state.view().exits.map((e) => e.uco),
    ['e', 'd'],
  );
  assert.ok(changes.length > 0);
  state.close();
  assert.equal(h.clock.pendingTimers > 0, true, 'the core keeps its own timers');
  const before = h.clock.pendingTimers;
  h.clock.advance(5000);
  assert.ok(h.clock.pendingTimers <= before, 'the closed state schedules no more samples');
});
