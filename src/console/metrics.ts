/**
 * The Prometheus text exposition format, version 0.0.4, written by hand: `# HELP`,
 * `# TYPE`, then the samples of each family; histograms as cumulative `_bucket{le=…}`
 * series ending with `le="+Inf"`, then `_sum` and `_count`.
 *
 * @module
 */

/** The `Content-Type` of the exposition. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label names and values of one sample. */
export type MetricLabels = Readonly<Record<string, string>>;

/** One sample of a counter or gauge family. */
export interface MetricSample {
  /** The sample's labels (none when omitted). */
  readonly labels?: MetricLabels;
  /** Its value. */
  readonly value: number;
}

/** Builds one exposition, family by family; {@link Exposition.text} gives it. */
export class Exposition {
  private readonly lines: string[] = [];
  private readonly names = new Set<string>();

  /** A counter (a name ending in `_total`): one value, or one per label set. */
  counter(name: string, help: string, samples: number | readonly MetricSample[]): this {
    if (!name.endsWith('_total')) throw new RangeError(`counter ${name} must end in _total`);
    return this.family(name, help, 'counter', samples);
  }

  /** A gauge: one value, or one per label set. */
  gauge(name: string, help: string, samples: number | readonly MetricSample[]): this {
    return this.family(name, help, 'gauge', samples);
  }

  /**
   * A histogram. `counts[i]` observations fell at or below `bounds[i]` (and above the
   * bound before): not cumulative; `counts` has one more entry than `bounds`, for the
   * observations above every bound.
   */
  histogram(name: string, help: string, bounds: readonly number[], counts: readonly number[], sum: number): this {
    if (counts.length !== bounds.length + 1) throw new RangeError(`histogram ${name}: ${bounds.length + 1} counts expected`);
    this.header(name, help, 'histogram');
    let cumulative = 0;
    bounds.forEach((bound, i) => {
      cumulative += counts[i] as number;
      this.lines.push(`${name}_bucket{le="${formatValue(bound)}"} ${formatValue(cumulative)}`);
    });
    cumulative += counts[bounds.length] as number;
    this.lines.push(`${name}_bucket{le="+Inf"} ${formatValue(cumulative)}`);
    this.lines.push(`${name}_sum ${formatValue(sum)}`);
    this.lines.push(`${name}_count ${formatValue(cumulative)}`);
    return this;
  }

  /** The exposition: one line per header and sample, each ending with `"\n"`. */
  text(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }

  private family(name: string, help: string, type: 'counter' | 'gauge', samples: number | readonly MetricSample[]): this {
    this.header(name, help, type);
    const list = typeof samples === 'number' ? [{ value: samples }] : samples;
    for (const sample of list) this.lines.push(`${name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    return this;
  }

  private header(name: string, help: string, type: string): void {
    if (!METRIC_NAME.test(name)) throw new RangeError(`invalid metric name ${name}`);
    if (this.names.has(name)) throw new RangeError(`metric ${name} written twice`);
    this.names.add(name);
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    this.lines.push(`# TYPE ${name} ${type}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `{a="1",b="x\"y"}`, or `""` without labels. Values escape `\`, `"` and newline. */
function formatLabels(labels: MetricLabels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new RangeError(`invalid label name ${name}`);
    return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  });
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** A sample value: Go's float syntax, `+Inf`, `-Inf`, `NaN`. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
