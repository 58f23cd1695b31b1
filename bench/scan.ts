/**
 * In process: what validating one relayed line costs, per line size. "parse" is the
 * ordinary path every line over 192 B took before issue 14 (`JSON.parse` of
 * `line.toString('utf8')`); "scan" is {@link scanComm}, the relay's fast path, which
 * now covers lines of any length. Lines are the relay scenario's
 * (`{"cmd":"comm","s":…,"t":…,"p":"xxx…"}`) and a base64-like payload, placed at an
 * odd offset of a larger buffer as socket reads are.
 *
 * @module
 */
import { scanComm, type CommScan } from '../src/core/scan.js';

/** ns per line of each validator at one line size. */
export interface ScanResult {
  readonly payload: number;
  /** `JSON.parse(line.toString('utf8'))`, ns per line (median of the repetitions). */
  readonly parseNs: number;
  /** `scanComm(line, out)`, ns per line. */
  readonly scanNs: number;
  /** Whether scanComm took the line (it must: the line is a valid comm line). */
  readonly accepted: boolean;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function commLine(size: number): Buffer {
  const head = '{"cmd":"comm","s":123456,"t":98765432101,"p":"';
  let pad = '';
  for (let i = 0; pad.length < size - head.length - 3; i++) pad += BASE64[(i * 7) % 64];
  const pool = Buffer.alloc(size + 16);
  const line = pool.subarray(3, 3 + size - 1); // without its "\n", as the framer hands it over
  line.write(`${head}${pad}"}`, 'latin1');
  return line;
}

function timeNs(f: () => unknown, iterations: number): number {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < iterations; k++) f();
  return Number(process.hrtime.bigint() - t0) / iterations;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

/** Measures both validators at `payload` bytes per line; `repetitions` timed batches each, alternating. */
export function scanRun(payload: number, repetitions: number): ScanResult {
  const line = commLine(payload);
  const out: CommScan = { ucoStart: -1, ucoEnd: -1 };
  const iterations = Math.max(2_000, Math.floor(2e7 / payload));
  const parse = (): unknown => JSON.parse(line.toString('utf8'));
  const scan = (): boolean => scanComm(line, out);
  timeNs(parse, iterations);
  timeNs(scan, iterations);
  const p: number[] = [];
  const s: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    p.push(timeNs(parse, iterations));
    s.push(timeNs(scan, iterations));
  }
  return { payload, parseNs: median(p), scanNs: median(s), accepted: scan() };
}
