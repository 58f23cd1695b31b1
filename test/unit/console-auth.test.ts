/** The console's access rules: token checks, cookie, CSRF checks of actions, loopback-only without a token. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { AccessControl, bindRefusal, isLoopbackHost, loopbackHostHeader, sameOriginJson } from '../../src/console/auth.js';

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

test('AccessControl: open without a token; with one, the Bearer header or the cookie it set, nothing else', () => {
  assert.equal(new AccessControl(undefined).check(req({})), 'open');
  const access = new AccessControl('tok');
  assert.equal(access.check(req({})), 'denied');
  assert.equal(access.check(req({ authorization: 'Bearer tok' })), 'granted');
  assert.equal(access.check(req({ authorization: 'bearer tok' })), 'granted');
  assert.equal(access.check(req({ authorization: 'Bearer tok2' })), 'denied');
  assert.equal(access.check(req({ authorization: 'Basic tok' })), 'denied');
  const cookie = access.cookie();
  assert.match(cookie, /; HttpOnly; SameSite=Strict; Path=\/$/);
  const pair = cookie.split(';')[0] as string;
  assert.equal(access.check(req({ cookie: `a=b; ${pair}; c=d` })), 'granted');
  assert.equal(access.check(req({ cookie: 'chat_roulette_console=tok' })), 'denied', 'the token itself is not the cookie');
  assert.equal(new AccessControl('other').check(req({ cookie: pair })), 'denied');
  assert.equal(access.matches('tok'), true);
  assert.equal(access.matches('to'), false);
});

test('sameOriginJson: JSON content type, and an Origin (when sent) equal to this host', () => {
  assert.equal(sameOriginJson(req({ 'content-type': 'application/json', host: 'h:1' })), true);
  assert.equal(sameOriginJson(req({ 'content-type': 'application/json; charset=utf-8', origin: 'http://h:1', host: 'h:1' })), true);
  assert.equal(sameOriginJson(req({ 'content-type': 'application/x-www-form-urlencoded', host: 'h:1' })), false);
  assert.equal(sameOriginJson(req({ 'content-type': 'text/plain', host: 'h:1' })), false);
  assert.equal(sameOriginJson(req({ host: 'h:1' })), false);
  assert.equal(sameOriginJson(req({ 'content-type': 'application/json', origin: 'http://evil:1', host: 'h:1' })), false);
  assert.equal(sameOriginJson(req({ 'content-type': 'application/json', origin: 'null', host: 'h:1' })), false);
});

test('bindRefusal: without a token only loopback, unless public access is asked for', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) {
    assert.equal(isLoopbackHost(host), true, host);
    assert.equal(bindRefusal(host, { token: undefined, publicAccess: false }), undefined, host);
  }
  for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.org', '128.0.0.1']) {
    assert.equal(isLoopbackHost(host), false, host);
    assert.match(bindRefusal(host, { token: undefined, publicAccess: false }) ?? '', /refusing to serve the console on .* without a token/);
    assert.equal(bindRefusal(host, { token: 't', publicAccess: false }), undefined);
    assert.equal(bindRefusal(host, { token: undefined, publicAccess: true }), undefined);
  }
});

test('loopbackHostHeader: a console without a token answers only Host headers naming loopback (DNS rebinding)', () => {
  for (const host of ['localhost:8080', 'localhost', '127.0.0.1:8080', '127.0.0.1', '[::1]:8080', '[::1]', 'LOCALHOST:1']) {
    assert.equal(loopbackHostHeader(host), true, host);
  }
  for (const host of [undefined, '', 'evil.example:8080', 'evil.example', '127.0.0.1.evil.example:80', '192.168.1.2:8080', '[::2]:80', 'localhost.evil:80']) {
    assert.equal(loopbackHostHeader(host), false, String(host));
  }
});
