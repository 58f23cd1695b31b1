/**
 * Prints the top entries of a V8 `.cpuprofile` (from `npm run bench -- --profile DIR`):
 * self time per function, and inclusive time for functions of this project.
 *
 * Run: node --import tsx bench/profile-top.ts DIR/CPU.….cpuprofile [count]
 *
 * @module
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: profile-top.ts FILE.cpuprofile [count]');
  process.exit(2);
}
const count = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n] as const));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(src|bench|node_modules)\//, '$1/').replace(/^node:/, 'node:');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}${url === '' ? '' : `:${n.callFrame.lineNumber + 1}`}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const node = byId.get(id);
  if (node === undefined) return;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (n === undefined) break;
    const l = label(n);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
});

const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`total ${(total / 1000).toFixed(0)} ms sampled\n\nself time:`);
for (const [l, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`${pct(us)}  ${l}`);
console.log('\ninclusive time (project code):');
for (const [l, us] of [...inclusive]
  .filter(([l]) => / src\//.test(l))
  .sort((a, b) => b[1] - a[1])
  .slice(0, count)) {
  console.log(`${pct(us)}  ${l}`);
}
