/**
 * Regenerates docs/console.png: a lab with the in-process reference peer, three good
 * students and one that swaps the roles, shown in Debian's headless Chromium.
 * `node --conditions=source --import tsx tools/console-screenshot.ts`
 */
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { openLab, REFERENCE_UCO } from '../test/helpers/console-lab.js';

const OUT = fileURLToPath(new URL('../docs/console.png', import.meta.url));
const lab = await openLab({ console: { token: 'docs', title: 'Cryptography lab — room B' } });
const browser = await chromium.launch({
  executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 960, height: 700 } });
  await page.goto(`${lab.url}?token=docs`);
  const rounds = (student: string, event: string): Promise<void> =>
    new Promise((resolve) => {
      const on = (e: { student: string; event: string }): void => {
        if (e.student !== student || e.event !== event) return;
        lab.reference.peer.off('round', on);
        resolve();
      };
      lab.reference.peer.on('round', on);
    });
  for (const uco of ['409123', '409877', '410502']) lab.goodStudent(uco);
  lab.swappedStudent('411230');
  await page.locator('#clients tr[data-uco="411230"]').waitFor();
  for (const uco of ['409123', '409877', '411230']) {
    const done = rounds(uco, uco === '411230' ? 'fail' : 'finish');
    lab.core.pair(REFERENCE_UCO, uco);
    await done;
  }
  await page.locator('#grading tr[data-uco="411230"] td.bad').waitFor();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await page.screenshot({ path: OUT, fullPage: false });
} finally {
  await browser.close();
  await lab.close();
}
