/**
 * Installing as a consumer does (issue 10): the package is packed as `npm pack` packs
 * it (prepack's clean manifest, no source maps), the tarball is installed into a fresh
 * `npm init -y` project made an ES module (`npm pkg set type=module`, as
 * docs/getting-started.md says), a strict TypeScript file importing `chat-roulette`,
 * `chat-roulette/testing` and `chat-roulette/console` is compiled with this
 * repository's TypeScript, and run.
 *
 * Offline: the runtime dependencies come from the npm cache (`npm ci` put them there).
 * The repository's own dist/ is copied, never rebuilt: other tests run from it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const STEP_MS = 90_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args` in `cwd`, killed after STEP_MS; never rejects. */
function run(file: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    execFile(file, [...args], { cwd, env, timeout: STEP_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr: `${stderr}${error !== null && error.killed ? `\n(killed after ${STEP_MS} ms)` : ''}` });
    });
  });
}

function ok(result: Run, what: string): Run {
  assert.equal(result.code, 0, `${what} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

const CONSUMER = `\
import { DEFAULTS, RouletteCore, type PairedEvent } from 'chat-roulette';
import { createHarness, type ServerMessage } from 'chat-roulette/testing';
import { createConsole, type RouletteConsole } from 'chat-roulette/console';

const core = new RouletteCore({ epochMs: DEFAULTS.epochMs * 2 });
const pairs: PairedEvent[] = [];
core.on('paired', (event) => pairs.push(event));

const harness = createHarness();
const a = harness.connect();
const b = harness.connect();
a.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
b.send({ cmd: 'connect', uco: 'bob', nonce: 1 });
harness.pair('alice', 'bob');
a.send({ cmd: 'comm', text: 'hi' });
const got: ServerMessage | undefined = b.messages.find((m) => m.cmd === 'comm');
await harness.close();
const dashboard: RouletteConsole = createConsole(core, { token: 't' });
const streams = dashboard.streams;
dashboard.close();
console.log(JSON.stringify({ relayed: got?.['text'] ?? null, epochMs: core.options.epochMs, pairs: pairs.length, streams }));
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false, // the package's own .d.ts files are checked too
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    outDir: 'build',
  },
  include: ['main.ts'],
};

test('npm pack → npm install <tarball> in a fresh npm init -y project → strict tsc → node: it runs', { timeout: 6 * STEP_MS }, async (t) => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    t.skip('dist/ is not built: run `npm run build` (or `npm ci`) first');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'chat-roulette-pack-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // 1. Pack a copy, as prepack does (its build step aside: dist/ is already built).
  const stage = join(work, 'stage');
  for (const name of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist']) {
    cpSync(join(ROOT, name), join(stage, name), { recursive: true });
  }
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.match(scripts['prepack'] ?? '', /node tools\/pack-manifest\.mjs strip$/);
  assert.equal(scripts['postpack'], 'node tools/pack-manifest.mjs restore');
  ok(await run(process.execPath, [join(ROOT, 'tools', 'pack-manifest.mjs'), 'strip', stage], stage), 'pack-manifest strip');
  const packed = ok(await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage), 'npm pack');
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(info);
  const files = info.files.map((f) => f.path);
  assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps (their sources are not shipped)');
  assert.deepEqual(files.filter((f) => !/^(dist\/|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)/.test(f)), []);
  const manifest = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(manifest['scripts'], undefined, 'no scripts in the published package.json (no prepare)');
  assert.doesNotMatch(JSON.stringify(manifest['exports']), /"source"/);
  ok(await run(process.execPath, [join(ROOT, 'tools', 'pack-manifest.mjs'), 'restore', stage], stage), 'pack-manifest restore');
  assert.equal(readFileSync(join(stage, 'package.json'), 'utf8'), readFileSync(join(ROOT, 'package.json'), 'utf8'));

  // 2. A fresh project, as docs/getting-started.md says.
  const project = join(work, 'project');
  cpSync(join(ROOT, 'LICENSE'), join(project, 'LICENSE')); // creates the folder
  ok(await run(NPM, ['init', '-y'], project), 'npm init -y');
  ok(await run(NPM, ['pkg', 'set', 'type=module'], project), 'npm pkg set type=module');
  const tarball = join(work, info.filename);
  let install = await run(NPM, ['install', '--offline', tarball], project);
  if (install.code !== 0) install = await run(NPM, ['install', '--prefer-offline', tarball], project);
  if (install.code !== 0) {
    t.skip(`cannot install the tarball's dependencies (not in the npm cache, no registry?): run npm ci first.\n${install.stderr}`);
    return;
  }
  assert.doesNotMatch(install.stderr, /install-scripts|prepare/, 'no install-script warning');
  assert.equal(existsSync(join(project, 'node_modules', 'chat-roulette', 'test')), false);

  // 3. Strict TypeScript against the installed package, then run it.
  writeFileSync(join(project, 'main.ts'), CONSUMER);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  ok(await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], project), 'tsc');
  const main = ok(await run(process.execPath, [join(project, 'build', 'main.js')], project), 'node build/main.js');
  assert.deepEqual(JSON.parse(main.stdout), { relayed: 'hi', epochMs: 60_000, pairs: 0, streams: 0 });
});
