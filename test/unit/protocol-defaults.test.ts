/** PROTOCOL §8 Defaults in one place. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, IDENTITY_MAX_LENGTH, ManualClock, RouletteCore, resolveOptions } from '../../src/index.js';
import { readProtocol } from '../helpers/protocol-md.js';

/** PROTOCOL §8, as written there (TCP host and port belong to the TCP transport, not the core). */
const TABLE = {
  epochMs: 30000,
  pingIntervalMs: 1000,
  deadAfterMs: 7000,
  registerTimeoutMs: 7000,
  pairDelayMs: 100,
  maxLineBytes: 32768,
} as const;

test('PROTOCOL §8: DEFAULTS equal the table (epochMs, pingIntervalMs, deadAfterMs, registerTimeoutMs, pairDelayMs, maxLineBytes)', () => {
  for (const [name, value] of Object.entries(TABLE)) {
    assert.equal(DEFAULTS[name as keyof typeof TABLE], value, name);
  }
});

test('PROTOCOL §8: uco / session / nonce length is 24 characters', () => {
  assert.equal(IDENTITY_MAX_LENGTH, 24);
});

test('PROTOCOL §8: a core built without options runs on DEFAULTS', () => {
  assert.deepEqual(resolveOptions({}), { ...DEFAULTS });
  assert.deepEqual(new RouletteCore({ clock: new ManualClock() }).options, { ...DEFAULTS });
  assert.ok(Object.isFrozen(DEFAULTS));
});

test('PROTOCOL §8: the table in PROTOCOL.md agrees with DEFAULTS, row by row', () => {
  const text = readProtocol();
  const section = /^## 8\. [^\n]*\n([\s\S]*?)(?=^## )/m.exec(text)?.[1];
  assert.ok(section !== undefined, 'PROTOCOL.md has a section 8');
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .slice(1) // header
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  assert.ok(rows.length >= 7, `parsed ${rows.length} rows`);
  const checked = new Set<string>();
  for (const [setting, value] of rows) {
    assert.ok(setting !== undefined && value !== undefined);
    const option = /^`(\w+)`$/.exec(setting)?.[1];
    if (option !== undefined) {
      assert.ok(option in DEFAULTS, `${option} is in DEFAULTS`);
      assert.equal(String(DEFAULTS[option as keyof typeof DEFAULTS]), value, option);
      checked.add(option);
    } else if (/uco.*session.*nonce.*length/.test(setting)) {
      assert.equal(value, `${IDENTITY_MAX_LENGTH} characters`);
      checked.add('identity');
    } else if (/^TCP host, port$/.test(setting)) {
      // The TCP transport's defaults: tested with the transport, not the core.
      assert.match(value, /^`[\d.]+`, `\d+`$/);
      checked.add('tcp');
    } else {
      assert.fail(`PROTOCOL.md §8 has a row this test does not know: ${setting}`);
    }
  }
  assert.deepEqual([...checked].sort(), [...Object.keys(TABLE), 'identity', 'tcp'].sort());
});
