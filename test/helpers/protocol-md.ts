/**
 * The normative specs the tests check the code against: the repository's copies in
 * docs/spec/ (test/unit/spec-copies.test.ts keeps them equal to ../shared/ when that
 * folder is present).
 */
import { readFileSync } from 'node:fs';

/** The text of docs/spec/PROTOCOL.md. */
export function readProtocol(): string {
  return readFileSync(new URL('../../docs/spec/PROTOCOL.md', import.meta.url), 'utf8');
}
