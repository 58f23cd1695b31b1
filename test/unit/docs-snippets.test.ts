/**
 * The guides' code compiles: every ```ts block of README.md and docs/*.md is
 * type-checked against the package's public API, as a user would import it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, '.build', 'snippets');

interface Snippet {
  readonly source: string;
  readonly index: number;
  readonly file: string;
}

function extractSnippets(): Snippet[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  const snippets: Snippet[] = [];
  for (const source of ['README.md', ...docs]) {
    const text = readFileSync(join(ROOT, source), 'utf8');
    let index = 0;
    for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```/gm)) {
      index++;
      const file = join(OUT, `${source.replace(/[/.]/g, '_')}-${index}.ts`);
      writeFileSync(file, `${match[1] ?? ''}\nexport {};\n`);
      snippets.push({ source, index, file });
    }
  }
  return snippets;
}

test('docs: every ts code block of README.md and docs/*.md type-checks', { timeout: 60_000 }, () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const snippets = extractSnippets();
  assert.ok(snippets.length >= 5, `expected the guides to hold code, found ${snippets.length} blocks`);

  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false };
  const program = ts.createProgram(
    snippets.map((s) => s.file),
    options,
  );
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file !== undefined && d.file.fileName.startsWith(OUT.replace(/\\/g, '/')))
    .map((d) => {
      const snippet = snippets.find((s) => s.file.replace(/\\/g, '/') === d.file?.fileName);
      const { line } = d.file?.getLineAndCharacterOfPosition(d.start ?? 0) ?? { line: 0 };
      const where = snippet === undefined ? d.file?.fileName : `${snippet.source} block ${snippet.index}`;
      return `${where}, line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  assert.deepEqual(problems, []);
});
