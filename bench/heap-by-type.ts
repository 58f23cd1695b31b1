/**
 * Compares two V8 heap snapshots (before and after N idle clients, from
 * bench/memory-probe.ts) by constructor name: retained-by-self bytes per client,
 * largest first. A manual tool: `node --import tsx bench/heap-by-type.ts A B N`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function byType(path: string): Map<string, { bytes: number; count: number }> {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt] as number] as string;
    const name = type === 'object' || type === 'closure' ? `${type}:${s.strings[s.nodes[i + nameAt] as number]}` : type;
    const e = out.get(name) ?? { bytes: 0, count: 0 };
    e.bytes += s.nodes[i + sizeAt] as number;
    e.count++;
    out.set(name, e);
  }
  return out;
}

const [a, b, n] = process.argv.slice(2);
if (a === undefined || b === undefined || n === undefined) {
  process.stderr.write('usage: heap-by-type.ts BEFORE.heapsnapshot AFTER.heapsnapshot CLIENTS\n');
  process.exit(2);
}
const before = byType(a);
const after = byType(b);
const clients = Number(n);
const rows = [...after].map(([name, v]) => {
  const w = before.get(name) ?? { bytes: 0, count: 0 };
  return { name, bytes: (v.bytes - w.bytes) / clients, count: (v.count - w.count) / clients };
});
rows.sort((x, y) => y.bytes - x.bytes);
let total = 0;
for (const r of rows) total += r.bytes;
process.stdout.write(`total ${total.toFixed(0)} B/client\n`);
for (const r of rows.slice(0, 25)) process.stdout.write(`${r.bytes.toFixed(1).padStart(9)} B  ${r.count.toFixed(2).padStart(6)} objs  ${r.name}\n`);
