/**
 * README's flag table and "Limits" table agree with DEFAULTS and the CLI's flags.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CORE_FLAGS, LIMIT_FLAGS, SHUTDOWN_GRACE_MS, startUsage } from '../../src/cli/args.js';
import { DEFAULTS, TCP_DEFAULTS } from '../../src/index.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const OPERATIONS = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

/** The rows (cells trimmed) of the first table after `heading` in `text`. */
function table(heading: string, text = README): string[][] {
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `the document has ${heading}`);
  const lines = text.slice(at).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break;
    if (/^\|\s*-/.test(line)) continue;
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim()));
  }
  return rows.slice(1); // header
}

function optionName(cell: string | undefined): keyof typeof DEFAULTS | undefined {
  const name = /^`(\w+)`$/.exec(cell ?? '')?.[1];
  if (name === undefined || !(name in DEFAULTS)) return undefined;
  return name as keyof typeof DEFAULTS;
}

for (const [title, rows] of [
  ['README', () => table('## The command line')],
  ['docs/operations.md', () => table('## Flags and options', OPERATIONS)],
] as const) test(`${title} flag table: every flag of the usage has a row; each option's default is the one in DEFAULTS`, () => {
  checkFlagTable(rows());
});

function checkFlagTable(rows: string[][]): void {
  const seen = new Set<string>();
  for (const [flag, option, value] of rows) {
    const name = optionName(option);
    if (name === undefined) continue;
    assert.equal(value, String(DEFAULTS[name]), `${flag} (${name})`);
    seen.add(name);
  }
  for (const { option } of [...CORE_FLAGS, ...LIMIT_FLAGS]) assert.ok(seen.has(option), `${option} has a row`);
  assert.ok(seen.has('strict'), 'strict has a row');
  const flags = rows.map(([flag]) => flag?.split(' ')[0]);
  const defaultOf = (flag: string): string | undefined => rows.find(([f]) => f?.startsWith(`\`${flag} `))?.[2];
  assert.equal(defaultOf('--host'), `\`${TCP_DEFAULTS.host}\``);
  assert.equal(defaultOf('--port'), `\`${TCP_DEFAULTS.port}\``);
  assert.equal(defaultOf('--shutdown-grace-ms'), String(SHUTDOWN_GRACE_MS));
  for (const { flag } of [...CORE_FLAGS, ...LIMIT_FLAGS]) assert.ok(flags.includes(`\`--${flag}`), `--${flag} has a row`);
  // Every flag of `chat-roulette start --help` has a row.
  const usageFlags = [...startUsage().matchAll(/^ {2}(?:-h, )?(--[a-z-]+)/gm)].map((m) => m[1]).filter((f) => f !== '--help');
  assert.ok(usageFlags.length >= 15, 'the usage lists the flags');
  for (const flag of usageFlags) assert.ok(flags.some((f) => f === `\`${flag}` || f === `\`${flag}\``), `${flag} has a row`);
}

test('README "Limits" table: each default is the one in DEFAULTS; every limit of DEFAULTS is listed', () => {
  const rows = table('## Limits');
  const seen = new Set<string>();
  for (const [option, value] of rows) {
    const name = optionName(option);
    assert.ok(name !== undefined, `${option} is an option of DEFAULTS`);
    assert.equal(value, String(DEFAULTS[name]), name);
    seen.add(name);
  }
  for (const name of ['maxLineBytes', 'maxClients', 'maxBufferedBytes', 'registerTimeoutMs', 'deadAfterMs', 'rateLimit', 'rateBurst', 'maxConnectionsPerAddress', 'strict']) {
    assert.ok(seen.has(name), `${name} is listed`);
  }
});
