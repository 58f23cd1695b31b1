/**
 * The shared protocol text, ../shared/PROTOCOL.md next to the repository, for the
 * tests that check the code against it. The file is not part of the repository, so
 * such a test is skipped where it is absent.
 */
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** The text of ../shared/PROTOCOL.md; `undefined` (with `t` marked skipped) when the file is absent. */
export function readSharedProtocol(t: TestContext): string | undefined {
  try {
    return readFileSync(new URL('../../../shared/PROTOCOL.md', import.meta.url), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      t.skip('../shared/PROTOCOL.md is not present');
      return undefined;
    }
    throw err;
  }
}
