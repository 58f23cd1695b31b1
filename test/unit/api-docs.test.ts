/**
 * The event lists of the embedding guide (docs/embedding.md) and of RouletteCore's
 * TSDoc (its API reference page) name every event of `RouletteEvents` with its
 * payload type, and nothing else. `RouletteEvents` is read from src/core/events.ts
 * with the TypeScript compiler API. And the API reference, converted by TypeDoc with
 * the project's typedoc.json, shows no eventemitter3 internals and autolinks no text.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Application, DeclarationReflection } from 'typedoc';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORE = join(ROOT, 'src', 'core');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** `event name → payload type name`, from `interface RouletteEvents { name: [event: Payload]; … }`. */
function rouletteEvents(): Map<string, string> {
  const events = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'RouletteEvents') {
      for (const member of node.members) {
        assert.ok(ts.isPropertySignature(member) && member.type !== undefined && ts.isTupleTypeNode(member.type));
        const [first] = member.type.elements;
        const type = first !== undefined && ts.isNamedTupleMember(first) ? first.type : first;
        assert.ok(type !== undefined && ts.isTypeReferenceNode(type), `${member.name.getText()}: one payload`);
        events.set(member.name.getText(), type.typeName.getText());
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(join(CORE, 'events.ts')));
  assert.ok(events.size >= 10, `RouletteEvents has ${events.size} events`);
  return events;
}

/** The rows `` | `name` | payload | … | `` of the markdown table that follows `heading`-ish text. */
function tableRows(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of markdown.matchAll(/^\s*(?:\*\s*)?\| `(\w+)` \| ([^|]+) \|/gm)) {
    const payload = (match[2] ?? '').replace(/[`{}]|@link\s*/g, '').trim();
    rows.set(match[1] ?? '', payload);
  }
  return rows;
}

/** The TSDoc comment of `class RouletteCore`, wherever it lives under src/core. */
function rouletteCoreDoc(): string {
  for (const name of readdirSync(CORE).filter((f) => f.endsWith('.ts'))) {
    const source = parse(join(CORE, name));
    for (const statement of source.statements) {
      if (ts.isClassDeclaration(statement) && statement.name?.text === 'RouletteCore') {
        return ts.getJSDocCommentsAndTags(statement).map((doc) => doc.getFullText()).join('\n');
      }
    }
  }
  return assert.fail('class RouletteCore not found under src/core');
}

describe('the documented event lists match RouletteEvents', () => {
  const events = rouletteEvents();

  test('docs/embedding.md: every event, with its payload type', () => {
    const text = readFileSync(join(ROOT, 'docs', 'embedding.md'), 'utf8');
    assert.deepEqual(tableRows(text), events);
  });

  test("RouletteCore's TSDoc (its API page): every event, linked to its payload type", () => {
    const doc = rouletteCoreDoc();
    assert.deepEqual(tableRows(doc), events);
    for (const payload of events.values()) assert.ok(doc.includes(`{@link ${payload}}`), `${payload} is a link`);
  });
});

test('API reference (typedoc.json): RouletteCore and DhReferencePeer show no eventemitter3 internals; no autolinked text', { timeout: 120_000 }, async () => {
  const app = await Application.bootstrapWithPlugins({ options: join(ROOT, 'typedoc.json'), logLevel: 'Error' });
  // markdown-it's linkify turned `PROTOCOL.md` in plain text into http://PROTOCOL.md.
  assert.equal((app.options.getValue('markdownItOptions') as { linkify?: unknown }).linkify, false);
  const project = await app.convert();
  assert.ok(project !== undefined, 'typedoc converted the project');
  for (const path of [['index', 'RouletteCore'], ['testing', 'DhReferencePeer']]) {
    const page = project.getChildByName(path);
    assert.ok(page instanceof DeclarationReflection, path.join('.'));
    const members = (page.children ?? []).map((child) => child.name);
    for (const internal of ['prefixed', 'emit', 'addListener']) assert.ok(!members.includes(internal), `${path.join('.')} lists ${internal}`);
    assert.ok(members.includes('constructor'));
  }
});
