/**
 * Turns the JSON line of `npm run bench` into the Markdown tables of README's
 * "Performance" section, so that the README's figures are copied by a program from
 * one recorded run, never by hand:
 *
 *   npm run bench -- --svg-dir docs/bench | tee docs/bench/run.txt
 *   node --import tsx bench/markdown.ts docs/bench/run.txt
 *
 * @module
 */
import { readFileSync } from 'node:fs';

type S = { median: number | null; min: number | null; max: number | null };
interface Side {
  msgsPerSec: S;
  mbPerSec: S;
  p50Us: S;
  p99Us: S;
  p999Us: S;
  cpuUsPerLine: S;
  serverCpuPct: S;
  generatorCpuPct: S;
}
interface Run {
  date: string;
  node: string;
  cpus: number;
  cpuModel: string;
  loadAverage: { before: string; after: string };
  runs: number;
  scan: { payload: number; parseNs: number; scanNs: number }[];
  relay: { pairs: number; payload: number; rate: number; level: number; ours: Side; baseline: Side; ratioMsgsPerSec: number; ratioCpuPerLine: number; ratioP99: number; load1: number[] }[];
  fairness: { floodPairs: number; idleP99Us: S; floodedP99Us: S; p99Ratio: S; floodMsgsPerSec: S; load1: number[] } | null;
  idle: { clients: number; ours: { rssBeforeKiB: number; rssAfterKiB: number; cpuPerRoundMs: number }[]; bare: { rssBeforeKiB: number; rssAfterKiB: number }[]; load1: number[] }[];
  idleFit: Record<'ours' | 'bare', { slope: number; interceptKiB: number; emptyKiB: number }>;
  targets: { name: string; value: number | null; limit: number; met: boolean | null }[];
}

const n = (v: number | null | undefined, digits = 0): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).replace(/,/g, ' ');
};
const size = (b: number): string => (b >= 1024 ? `${b / 1024} KiB` : `${b} B`);
const load = (values: readonly number[]): string => `${n(Math.min(...values), 1)}–${n(Math.max(...values), 1)}`;

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: markdown.ts FILE (the output of npm run bench)\n');
  process.exit(2);
}
const line = readFileSync(path, 'utf8').split('\n').find((l) => l.startsWith('{"bench":"chat-roulette"'));
if (line === undefined) throw new Error(`${path} has no {"bench":"chat-roulette",…} line`);
const r = JSON.parse(line) as Run;
const out: string[] = [];
out.push(`Recorded ${r.date.slice(0, 16).replace('T', ' ')} UTC, Node ${r.node}, ${r.cpus} × ${r.cpuModel}, load average ${r.loadAverage.before} before and ${r.loadAverage.after} after; medians of ${r.runs} runs.`);
out.push('');
if (r.scan.length > 0) {
  out.push(`| validating one \`comm\` line, in process | ${r.scan.map((s) => size(s.payload)).join(' | ')} |`);
  out.push(`| --- |${r.scan.map(() => ' ---: |').join('')}`);
  out.push(`| \`JSON.parse(line.toString())\` (the path of every line over 192 B before issue 14), ns | ${r.scan.map((s) => n(s.parseNs)).join(' | ')} |`);
  out.push(`| \`scanComm\` (now every length; up to 192 B the scanner is unchanged), ns | ${r.scan.map((s) => n(s.scanNs)).join(' | ')} |`);
  out.push('');
}
for (const payload of [...new Set(r.relay.map((p) => p.payload))]) {
  const pts = r.relay.filter((p) => p.payload === payload);
  out.push(`**${size(payload)} lines** (${pts[0]?.pairs} pairs; load average ${load(pts.flatMap((p) => p.load1))})`);
  out.push('');
  out.push('| offered load | server | msgs/s | MB/s | p50 µs | p99 µs | p999 µs | server CPU µs/line | server CPU % |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of pts) {
    const label = p.rate === 0 ? 'saturation' : `${n(p.rate)} lines/s`;
    for (const [name, side] of [['chat-roulette', p.ours], ['raw pipe', p.baseline]] as const) {
      out.push(`| ${label} | ${name} | ${n(side.msgsPerSec.median)} | ${n(side.mbPerSec.median, 1)} | ${n(side.p50Us.median)} | ${n(side.p99Us.median)} | ${n(side.p999Us.median)} | ${n(side.cpuUsPerLine.median, 2)} | ${n(side.serverCpuPct.median)} |`);
    }
    out.push(`| | **ours / pipe** | **${n(p.ratioMsgsPerSec * 100)} %** | | | ${n(p.ratioP99, 2)} × | | **${n(p.ratioCpuPerLine, 2)} ×** | |`);
  }
  out.push('');
}
if (r.fairness !== null) {
  const f = r.fairness;
  out.push(`| quiet pair's round trip | p99 µs |`);
  out.push('| --- | ---: |');
  out.push(`| idle server | ${n(f.idleP99Us.median)} |`);
  out.push(`| ${f.floodPairs} pairs flooding 1 KiB lines (${n(f.floodMsgsPerSec.median)} msgs/s) | ${n(f.floodedP99Us.median)} |`);
  out.push(`| flooded / idle | **${n(f.p99Ratio.median, 2)} ×** |`);
  out.push('');
}
if (r.idle.length > 0) {
  out.push('| idle clients | ours: RSS growth | bare `net`: RSS growth | ours: CPU per ping round |');
  out.push('| ---: | ---: | ---: | ---: |');
  for (const p of r.idle) {
    const o = p.ours[0];
    const b = p.bare[0];
    out.push(`| ${n(p.clients)} | ${o === undefined ? '-' : `${n((o.rssAfterKiB - o.rssBeforeKiB) / 1024, 1)} MiB`} | ${b === undefined ? '-' : `${n((b.rssAfterKiB - b.rssBeforeKiB) / 1024, 1)} MiB`} | ${o === undefined ? '-' : `${n(o.cpuPerRoundMs, 0)} ms`} |`);
  }
  const f = r.idleFit;
  out.push(`| **slope** (least squares) | **${n(f.ours.slope)} B/client** | **${n(f.bare.slope)} B/client** | ours / bare **${n(f.ours.slope / f.bare.slope, 2)} ×** |`);
  out.push(`| intercept (not per client) | ${n(f.ours.interceptKiB / 1024, 1)} MiB | ${n(f.bare.interceptKiB / 1024, 1)} MiB | |`);
  out.push(`| empty server RSS | ${n(f.ours.emptyKiB / 1024, 1)} MiB | ${n(f.bare.emptyKiB / 1024, 1)} MiB | |`);
  out.push('');
}
out.push('| target | measured | met |');
out.push('| --- | ---: | --- |');
for (const t of r.targets) out.push(`| ${t.name} | ${n(t.value, 2)} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
process.stdout.write(`${out.join('\n')}\n`);
