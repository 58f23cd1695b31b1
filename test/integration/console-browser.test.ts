/**
 * The console in a real browser: Debian's headless Chromium (`/usr/bin/chromium`, or
 * `$CHROMIUM_PATH`), driven by playwright-core (which never downloads a browser).
 * The page opens with the one-time token, sees two clients connect and become a pair,
 * sees the in-process reference peer's DH round graded, pairs a second student with
 * the operator form and sees that round fail with its reason, and sees a client that
 * stops answering pings marked late. Screenshots at desktop
 * and phone widths are saved under test/artifacts/ (not committed).
 *
 * Each run starts with a fresh temporary profile (playwright's `launch`). Skipped when
 * no Chromium is installed (.ci/run installs Debian's `chromium`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { openLab, REFERENCE_UCO, type Lab } from '../helpers/console-lab.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const TOKEN = 'browser-test-token';
const WAIT = { timeout: 15_000 };
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: install Debian's chromium package (see README)`;

describe('console in headless Chromium', { skip }, () => {
  let lab: Lab;
  let browser: Browser;

  before(async () => {
    lab = await openLab({ console: { token: TOKEN, title: 'Cryptography lab — room B' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 30_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await lab?.close();
  });

  it('shows two clients connect and pair, grades the DH round live, and takes the operator\'s pair', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${lab.url}?token=${TOKEN}`);
    assert.equal(page.url(), lab.url, 'the token leaves the address bar');
    await page.waitForSelector('#status.live', WAIT);
    await page.waitForSelector(`#clients tr[data-uco="${REFERENCE_UCO}"]`, WAIT);

    lab.goodStudent('409123');
    await page.waitForSelector('#clients tr[data-uco="409123"]', WAIT);
    await page.locator('#pairs li', { hasText: `${REFERENCE_UCO} ⇄ 409123` }).waitFor(WAIT);
    await page.locator('#grading tr[data-uco="409123"] td.ok', { hasText: /^1$/ }).waitFor(WAIT);

    // The operator pairs the reference peer with a student who swapped the roles.
    lab.swappedStudent('409124');
    await page.waitForSelector('#clients tr[data-uco="409124"]', WAIT);
    await page.fill('#act-a', REFERENCE_UCO);
    await page.fill('#act-b', '409124');
    await page.click('#act-pair');
    await page.locator('#act-result', { hasText: /^done: / }).waitFor(WAIT);
    await page.locator('#grading tr[data-uco="409124"]', { hasText: 'roles probably swapped' }).waitFor(WAIT);
    assert.deepEqual(lab.actions.map((a) => a.action), ['pair']);

    // A client that stops answering pings stands out (late after two missed pings).
    lab.silentStudent('409999');
    await page.locator('#clients tr[data-uco="409999"] td.pong.late').waitFor(WAIT);
    assert.equal(await page.locator(`#clients tr[data-uco="${REFERENCE_UCO}"] td.pong.late`).count(), 0);
    assert.equal(await page.textContent('#grading tr[data-uco="409124"] td.bad'), '1');
    assert.equal(await page.textContent('#grading tr[data-uco="409123"] td.ok'), '1');
    assert.match((await page.textContent('#countdown')) ?? '', /^next in \d+ (s|min)/);
    assert.deepEqual(errors, [], 'no script or CSP errors');
    await page.screenshot({ path: join(ARTIFACTS, 'console-desktop.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    // A string: the test is compiled without the DOM library.
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    assert.ok(overflow <= 0, `the page fits a phone's width (overflow ${overflow}px); wide tables scroll inside their box`);
    await page.screenshot({ path: join(ARTIFACTS, 'console-phone.png'), fullPage: true });
    await context.close();
  });
});
