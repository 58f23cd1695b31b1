/**
 * docs/spec/ ships the normative PROTOCOL.md and DH-EXERCISE.md with the repository;
 * where the course's shared folder sits beside the checkout (../shared), the copies
 * must be identical to it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

for (const name of ['PROTOCOL.md', 'DH-EXERCISE.md']) {
  test(`docs/spec/${name} is the course's ${name}`, (t) => {
    const shared = new URL(`../../../shared/${name}`, import.meta.url);
    const copy = readFileSync(new URL(`../../docs/spec/${name}`, import.meta.url), 'utf8');
    assert.match(copy, /^# /, 'the copy is there');
    if (!existsSync(shared)) {
      t.skip(`no ../shared/${name} beside this checkout: to check docs/spec/${name} against the course's copy, put the course's shared folder at ../shared`);
      return;
    }
    assert.equal(copy, readFileSync(shared, 'utf8'), `docs/spec/${name} differs from ../shared/${name}: copy it again`);
  });
}
