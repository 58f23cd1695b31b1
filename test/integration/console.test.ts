/**
 * The console over real HTTP on 127.0.0.1: token access (header, one-time query
 * parameter → cookie), operator actions (POST, JSON, same origin, token only, each
 * reported), live grading of the in-process reference peer and its downloads, and
 * /metrics as Prometheus scrapes it. Every server, stream and peer is closed after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatReport, readReport, type DhReport, type DhRoundEvent } from '../../src/testing/index.js';
import { openLab, REFERENCE_UCO, type Lab } from '../helpers/console-lab.js';
import { parseExposition } from '../helpers/prometheus.js';

const TOKEN = 's3cret-token';

/** Resolves with the first round event of `lab`'s reference peer that matches. */
function roundEvent(lab: Lab, match: (e: DhRoundEvent) => boolean): Promise<DhRoundEvent> {
  return new Promise((resolve) => {
    const on = (e: DhRoundEvent): void => {
      if (!match(e)) return;
      lab.reference.peer.off('round', on);
      resolve(e);
    };
    lab.reference.peer.on('round', on);
  });
}

function post(lab: Lab, action: string, body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(`api/${action}`, lab.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify(body),
  });
}

describe('console with a token', () => {
  let lab: Lab;
  before(async () => {
    // No pairing but the operator's: every round below is one the test asked for.
    lab = await openLab({ console: { token: TOKEN }, core: { pairDelayMs: 3_600_000, epochMs: 3_600_000 } });
  });
  after(() => lab.close());

  it('refuses every route but /healthz without the token (401)', async () => {
    for (const path of ['', 'events', 'metrics', 'api/state', 'report.json']) {
      const res = await fetch(new URL(path, lab.url));
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
      await res.text();
    }
    assert.equal((await fetch(new URL('healthz', lab.url))).status, 200);
    assert.equal((await fetch(new URL('?token=wrong', lab.url), { redirect: 'manual' })).status, 401);
  });

  it('takes the token once as ?token=, answers with an HttpOnly SameSite=Strict cookie and a redirect without it', async () => {
    const res = await fetch(new URL('?token=' + TOKEN, lab.url), { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), './');
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^chat_roulette_console=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    assert.equal(cookie.includes(TOKEN), false, 'the cookie holds a digest, not the token');
    const page = await fetch(lab.url, { headers: { cookie: cookie.split(';')[0] as string } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'nonce-/);
    const html = await page.text();
    assert.match(html, /data-operator="1"/);
    assert.equal(/(src|href)="(https?:)?\/\//.test(html), false, 'nothing fetched from elsewhere');
    const metrics = await fetch(new URL('metrics', lab.url), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    parseExposition(await metrics.text());
  });

  it('operator actions: POST with JSON from this origin only, each reported; pair and grade a student live', async () => {
    const wrongType = await post(lab, 'epoch', {}, { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 403, 'a cross-site form cannot send JSON without a preflight');
    const wrongOrigin = await post(lab, 'epoch', {}, { origin: 'http://evil.example' });
    assert.equal(wrongOrigin.status, 403);
    assert.equal((await fetch(new URL('api/epoch', lab.url), { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404, 'GET does nothing');
    assert.equal(lab.actions.length, 0);

    const epoch = lab.core.epoch;
    const res = await post(lab, 'epoch', {}, { origin: lab.url.slice(0, -1) });
    assert.equal(res.status, 200);
    assert.equal(lab.core.epoch, epoch + 1);

    lab.goodStudent('409123');
    lab.swappedStudent('409124');
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (lab.core.stats().clients < 3) return;
        lab.core.off('registered', check);
        resolve();
      };
      lab.core.on('registered', check);
      check();
    });
    const finished = roundEvent(lab, (e) => e.student === '409123' && (e.event === 'finish' || e.event === 'fail'));
    assert.equal((await post(lab, 'pair', { a: REFERENCE_UCO, b: '409123' })).status, 200);
    assert.equal((await finished).event, 'finish');
    const failed = roundEvent(lab, (e) => e.student === '409124' && e.event === 'fail');
    assert.equal((await post(lab, 'pair', { a: REFERENCE_UCO, b: '409124' })).status, 200);
    assert.match((await failed).reason ?? '', /roles probably swapped/);

    const unknown = await post(lab, 'pair', { a: REFERENCE_UCO, b: 'nobody' });
    assert.equal(unknown.status, 409);
    assert.match(((await unknown.json()) as { message: string }).message, /'nobody' is not registered/);
    assert.equal((await post(lab, 'disconnect', { uco: 'nobody' })).status, 404);
    assert.equal((await post(lab, 'disconnect', { uco: '409124' })).status, 200);
    assert.equal(lab.core.client('409124'), undefined);
    assert.deepEqual(
      lab.actions.map((a) => [a.action, a.ucos]),
      [
        ['epoch', []],
        ['pair', [REFERENCE_UCO, '409123']],
        ['pair', [REFERENCE_UCO, '409124']],
        ['disconnect', ['409124']],
      ],
    );

    // The downloads agree with `chat-roulette report` on the same log.
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    const ndjson = await (await fetch(new URL('rounds.ndjson', lab.url), auth)).text();
    const fromLog = await readReport(ndjson);
    const json = (await (await fetch(new URL('report.json', lab.url), auth)).json()) as DhReport;
    assert.deepEqual(json, fromLog);
    assert.equal(await (await fetch(new URL('report.txt', lab.url), auth)).text(), formatReport(fromLog));
    const good = json.students.find((s) => s.uco === '409123');
    const bad = json.students.find((s) => s.uco === '409124');
    assert.deepEqual([good?.rounds, good?.successful, good?.failed], [1, 1, 0]);
    assert.deepEqual([bad?.rounds, bad?.successful, bad?.failed], [1, 0, 1]);

    const metrics = parseExposition(await (await fetch(new URL('metrics', lab.url), auth)).text());
    assert.equal(metrics.value('chat_roulette_dh_rounds_total', { outcome: 'successful' }), 1);
    assert.equal(metrics.value('chat_roulette_dh_rounds_total', { outcome: 'failed' }), 1);
    assert.equal(metrics.value('chat_roulette_pairs_formed_total', { kind: 'chosen' }), 2);
    const state = (await (await fetch(new URL('api/state', lab.url), auth)).json()) as { grading: { totals: { successful: number } } };
    assert.equal(state.grading.totals.successful, 1);
  });
});

describe('console without a token', () => {
  let lab: Lab;
  before(async () => {
    lab = await openLab({ reference: false });
  });
  after(() => lab.close());

  it('is readable, has no operator actions (403) and no grading routes (404)', async () => {
    const page = await (await fetch(lab.url)).text();
    assert.match(page, /data-operator="0"/);
    const res = await fetch(new URL('api/epoch', lab.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { message: string }).message, /need a token/);
    assert.equal((await fetch(new URL('report.json', lab.url))).status, 404);
    assert.equal((await fetch(new URL('metrics', lab.url))).status, 200);
  });

  it('/events streams the state as Server-Sent Events; shutdown() turns /healthz to 503 and close() ends the stream', async () => {
    const controller = new AbortController();
    const res = await fetch(new URL('events', lab.url), { signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('event: state\ndata: ')) text += new TextDecoder().decode((await reader.read()).value);
    assert.equal(lab.console.streams, 1);
    lab.console.shutdown();
    assert.equal((await fetch(new URL('healthz', lab.url))).status, 503);
    lab.console.close();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    assert.match(text, /event: shutdown\ndata: \{\}\n\n$/);
  });
});
