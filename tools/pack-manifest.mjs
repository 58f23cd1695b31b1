#!/usr/bin/env node
// The package.json that goes into the tarball (`npm pack`, `npm publish`), without what
// only this repository needs: its scripts (a `prepare` there would run, or warn, on
// every install) and the `source` export conditions (src/ is not shipped).
//
//   node tools/pack-manifest.mjs strip [dir]    prepack: keeps package.json aside, writes the clean one
//   node tools/pack-manifest.mjs restore [dir]  postpack: puts the original back
//
// `strip` after a pack that failed before `postpack` restores first, so the original
// is never lost.
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import process from 'node:process';

const [command, dir = '.'] = process.argv.slice(2);
const manifest = join(resolve(dir), 'package.json');
const original = join(resolve(dir), '.package.json.prepack');

/** @param {Record<string, unknown>} pkg */
function clean(pkg) {
  const copy = JSON.parse(JSON.stringify(pkg));
  delete copy.scripts;
  const exports = /** @type {Record<string, unknown>} */ (copy.exports ?? {});
  for (const value of Object.values(exports)) {
    if (typeof value === 'object' && value !== null) delete (/** @type {Record<string, unknown>} */ (value)).source;
  }
  return copy;
}

if (command === 'strip') {
  if (existsSync(original)) renameSync(original, manifest);
  copyFileSync(manifest, original);
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  writeFileSync(manifest, `${JSON.stringify(clean(pkg), null, 2)}\n`);
} else if (command === 'restore') {
  if (existsSync(original)) renameSync(original, manifest);
} else {
  process.stderr.write('usage: node tools/pack-manifest.mjs strip|restore [dir]\n');
  process.exit(2);
}
