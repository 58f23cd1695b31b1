/**
 * A client end of a stream or socket whose server lines are collected, raw and
 * decoded, and read in order with the pings skipped. Shared by the stream adapter's
 * unit tests and the TCP integration tests.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { PING } from './core.js';

/** Collects the server's lines from the client end `stream`. */
export class LineReader {
  readonly lines: string[] = [];
  readonly raw: Buffer[] = [];
  /** The stream ended or closed. */
  ended = false;
  private pending = Buffer.alloc(0);
  private cursor = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onEnded());
    stream.on('close', () => this.onEnded());
    stream.on('error', () => undefined);
  }

  /** The next line not yet returned, pings skipped. */
  async next(): Promise<string> {
    for (;;) {
      while (this.cursor < this.lines.length) {
        const line = this.lines[this.cursor++] as string;
        if (line !== PING) return line;
      }
      if (this.ended) throw new Error('the stream ended while waiting for a line');
      await this.wait();
    }
  }

  /** Resolves once the server ended the stream; fails if a line (other than a ping) came after the last one read. */
  async end(): Promise<void> {
    while (!this.ended) await this.wait();
    assert.deepEqual(this.lines.slice(this.cursor).filter((l) => l !== PING), [], 'no line after the exit');
  }

  /** Waits until `count` lines have arrived in all. */
  async received(count: number): Promise<void> {
    while (this.lines.length < count) {
      if (this.ended) throw new Error(`the stream ended after ${this.lines.length} lines`);
      await this.wait();
    }
  }

  private onData(chunk: Buffer): void {
    let data = Buffer.concat([this.pending, chunk]);
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a)) {
      const line = Buffer.from(data.subarray(0, nl));
      this.raw.push(line);
      this.lines.push(line.toString('utf8'));
      data = data.subarray(nl + 1);
    }
    this.pending = Buffer.from(data);
    this.wake();
  }

  private onEnded(): void {
    this.ended = true;
    this.wake();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
