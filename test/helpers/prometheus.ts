/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: it
 * throws on anything a scraper would reject or a naming convention breaks, and
 * returns the samples by series.
 *
 * Checked: line syntax (`# HELP`, `# TYPE`, samples with escaped label values and
 * float values), one `# TYPE` per family before its samples, families contiguous, no
 * duplicate series, `_total` counters, histograms with increasing `le` bounds,
 * cumulative counts, a final `le="+Inf"` equal to `_count`, and a `_sum`; the text
 * ends with a newline.
 */

/** One sample. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition. */
export interface Exposition {
  /** Family name → type. */
  types: Map<string, string>;
  /** Family name → help text. */
  help: Map<string, string>;
  samples: Sample[];
  /** The value of the series `name{labels}` (labels in any order), or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const series = new Set<string>();
  const finished = new Set<string>();
  let current: string | undefined;
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) (.*)$/.exec(line);
      if (m === null) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      if (kind === 'HELP') {
        if (help.has(name)) throw new Error(`${where}: second HELP`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
        help.set(name, rest);
      } else {
        if (types.has(name)) throw new Error(`${where}: second TYPE`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type`);
        if (finished.has(name) || samples.some((s) => familyOf(s.name, types) === name)) throw new Error(`${where}: TYPE after samples`);
        types.set(name, rest);
      }
      if (current !== undefined && current !== name) finished.add(current);
      current = name;
      return;
    }
    if (line.trim() === '') throw new Error(`${where}: blank line`);
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, types);
    if (family !== current) {
      if (finished.has(family)) throw new Error(`${where}: family ${family} is not contiguous`);
      if (current !== undefined) finished.add(current);
      current = family;
    }
    const key = seriesKey(sample.name, sample.labels);
    if (series.has(key)) throw new Error(`${where}: duplicate series`);
    series.add(key);
    samples.push(sample);
  });
  for (const [name, type] of types) {
    if (type === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    if (type === 'histogram') checkHistogram(name, samples);
    if (!help.has(name)) throw new Error(`${name} has no HELP`);
  }
  return {
    types,
    help,
    samples,
    value(name, labels = {}) {
      return samples.find((s) => seriesKey(s.name, s.labels) === seriesKey(name, labels))?.value;
    },
  };
}

function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    }
  }
  return name;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;
}

function parseSample(line: string, where: string): Sample {
  let i = 0;
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (nameMatch === null) throw new Error(`${where}: bad sample name`);
  const name = nameMatch[0];
  i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (labelMatch === null || !LABEL.test(labelMatch[0])) throw new Error(`${where}: bad label name`);
      const label = labelMatch[0];
      i += label.length;
      if (line.slice(i, i + 2) !== '="') throw new Error(`${where}: expected ="`);
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`${where}: unterminated label value`);
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i + 1];
          if (next === '\\') value += '\\';
          else if (next === '"') value += '"';
          else if (next === 'n') value += '\n';
          else throw new Error(`${where}: bad escape in label value`);
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      i++;
      if (label in labels) throw new Error(`${where}: label ${label} twice`);
      labels[label] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`${where}: expected , or }`);
    }
    i++;
  }
  const rest = line.slice(i);
  const m = /^ ([^ ]+)( -?\d+)?$/.exec(rest);
  if (m === null) throw new Error(`${where}: expected " <value> [timestamp]"`);
  const text = m[1] as string;
  if (!/^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN)$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  const value = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  return { name, labels, value };
}

function checkHistogram(name: string, samples: Sample[]): void {
  const buckets = samples.filter((s) => s.name === `${name}_bucket`);
  if (buckets.length === 0) throw new Error(`histogram ${name} has no buckets`);
  let previousBound = -Infinity;
  let previousCount = 0;
  for (const b of buckets) {
    const le = b.labels['le'];
    if (le === undefined) throw new Error(`histogram ${name}: a bucket without le`);
    const bound = le === '+Inf' ? Infinity : Number(le);
    if (!(bound > previousBound)) throw new Error(`histogram ${name}: le ${le} not increasing`);
    if (b.value < previousCount) throw new Error(`histogram ${name}: bucket counts not cumulative at le=${le}`);
    previousBound = bound;
    previousCount = b.value;
  }
  if (previousBound !== Infinity) throw new Error(`histogram ${name}: the last bucket must be le="+Inf"`);
  const count = samples.find((s) => s.name === `${name}_count`);
  const sum = samples.find((s) => s.name === `${name}_sum`);
  if (count === undefined || sum === undefined) throw new Error(`histogram ${name}: _count and _sum are required`);
  if (count.value !== previousCount) throw new Error(`histogram ${name}: _count ${count.value} != +Inf bucket ${previousCount}`);
}
