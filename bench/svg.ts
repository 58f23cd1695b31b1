/**
 * Hand-written SVG pictures for the report (no dependency): grouped bars (one group
 * per payload size, one bar per server) and lines (RSS against clients).
 *
 * @module
 */

/** One bar series: a value per group (NaN: no bar). */
export interface BarSeries {
  readonly name: string;
  readonly values: readonly number[];
}

/** One line series: (x, y) points. */
export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

const W = 640;
const H = 360;
const LEFT = 70;
const RIGHT = 20;
const TOP = 40;
const BOTTOM = 60;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round upper bound and tick step for values up to `max`. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) as number;
  return { top: Math.ceil(max / step) * step, step };
}

function label(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (Math.abs(n) >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return String(+n.toPrecision(3));
}

function frame(title: string, yLabel: string, xLabel: string, top: number, step: number, body: string[], legend: readonly string[]): string {
  const ph = H - TOP - BOTTOM;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (let v = 0; v <= top + step / 2; v += step) {
    const y = TOP + ph - (v / top) * ph;
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${label(v)}</text>`);
  }
  out.push(`<text transform="translate(16 ${TOP + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  out.push(`<text x="${LEFT + (W - LEFT - RIGHT) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(...body);
  legend.forEach((name, i) => {
    const x = LEFT + 10 + i * 150;
    out.push(`<rect x="${x}" y="${TOP - 14}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${x + 16}" y="${TOP - 4}">${esc(name)}</text>`);
  });
  out.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + ph}" stroke="#000"/>`);
  out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${TOP + ph}" y2="${TOP + ph}" stroke="#000"/>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Grouped bars: `groups` along x, one bar per series in each group, value printed above it. */
export function barChart(title: string, yLabel: string, xLabel: string, groups: readonly string[], series: readonly BarSeries[]): string {
  const { top, step } = niceScale(Math.max(0, ...series.flatMap((s) => s.values.filter(Number.isFinite))));
  const pw = W - LEFT - RIGHT;
  const ph = H - TOP - BOTTOM;
  const gw = pw / Math.max(1, groups.length);
  const bw = (gw * 0.7) / Math.max(1, series.length);
  const body: string[] = [];
  groups.forEach((g, gi) => {
    const gx = LEFT + gi * gw;
    body.push(`<text x="${(gx + gw / 2).toFixed(1)}" y="${TOP + ph + 16}" text-anchor="middle">${esc(g)}</text>`);
    series.forEach((s, si) => {
      const v = s.values[gi] ?? NaN;
      if (!Number.isFinite(v)) return;
      const h = (v / top) * ph;
      const x = gx + gw * 0.15 + si * bw;
      body.push(`<rect x="${x.toFixed(1)}" y="${(TOP + ph - h).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`);
      body.push(`<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(TOP + ph - h - 3).toFixed(1)}" text-anchor="middle" font-size="10">${label(v)}</text>`);
    });
  });
  return frame(title, yLabel, xLabel, top, step, body, series.map((s) => s.name));
}

/** Lines with markers, x and y from 0. */
export function lineChart(title: string, yLabel: string, xLabel: string, series: readonly LineSeries[]): string {
  const all = series.flatMap((s) => s.points);
  const { top, step } = niceScale(Math.max(0, ...all.map((p) => p[1])));
  const xs = niceScale(Math.max(0, ...all.map((p) => p[0])));
  const pw = W - LEFT - RIGHT;
  const ph = H - TOP - BOTTOM;
  const px = (x: number): number => LEFT + (x / xs.top) * pw;
  const py = (y: number): number => TOP + ph - (y / top) * ph;
  const body: string[] = [];
  for (let x = 0; x <= xs.top + xs.step / 2; x += xs.step) {
    body.push(`<text x="${px(x).toFixed(1)}" y="${TOP + ph + 16}" text-anchor="middle">${label(x)}</text>`);
  }
  series.forEach((s, si) => {
    const color = COLORS[si % COLORS.length] as string;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) body.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
  });
  return frame(title, yLabel, xLabel, top, step, body, series.map((s) => s.name));
}

/** Least-squares line y = slope·x + intercept through `points`. */
export function leastSquares(points: readonly (readonly [number, number])[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: NaN, intercept: NaN };
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
