/**
 * The published typings hold only the public API: no `@internal` member anywhere in
 * the built `.d.ts` files, and the façade's state stays behind `#private` (no
 * TypeScript `private` member whose name and type would ship).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function declarations(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.d.ts'))
    .map((name) => join(dir, name));
}

test('typings: the built .d.ts files have no @internal member, and RouletteCore exposes no private state', { timeout: 120_000 }, (t) => {
  const out = mkdtempSync(join(tmpdir(), 'chat-roulette-dts-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  execFileSync(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', out], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  const files = declarations(out);
  assert.ok(files.some((f) => f.endsWith(join('core', 'core.d.ts'))), 'core.d.ts was built');
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('@internal'), `${file.slice(out.length + 1)} declares an @internal member`);
  }
  const core = readFileSync(join(out, 'core', 'core.d.ts'), 'utf8');
  const body = /export declare class RouletteCore[^{]*\{([\s\S]*?)\n\}/.exec(core)?.[1] ?? '';
  assert.match(body, /#private;/);
  assert.doesNotMatch(body, /^\s*(private|protected) /m, 'RouletteCore declares a TypeScript private member');
});
