/**
 * The little DER (ITU-T X.690) the DH exercise needs: reading and writing the
 * SEQUENCE / INTEGER / OBJECT IDENTIFIER / BIT STRING / OCTET STRING of an X.509
 * SubjectPublicKeyInfo or a PKCS#8 PrivateKeyInfo. Strict DER: definite, minimal
 * lengths; no trailing bytes.
 *
 * @module
 */

/** Universal tags used here. */
export const DER_TAG = Object.freeze({
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  SEQUENCE: 0x30,
});

/** Names of {@link DER_TAG} values, for error messages. */
const TAG_NAMES: Readonly<Record<number, string>> = {
  0x02: 'INTEGER',
  0x03: 'BIT STRING',
  0x04: 'OCTET STRING',
  0x05: 'NULL',
  0x06: 'OBJECT IDENTIFIER',
  0x30: 'SEQUENCE',
};

/** A DER structure that does not parse; `message` says what and where, in plain words. */
export class DerError extends Error {
  /** Always `"DerError"`. */
  override readonly name = 'DerError';
}

/** One decoded TLV: its tag and the bytes of its content. */
export interface DerNode {
  /** The identifier octet. */
  readonly tag: number;
  /** The content octets (a view into the input). */
  readonly content: Buffer;
  /** Offset of the identifier octet in the buffer that was read. */
  readonly offset: number;
}

function tagName(tag: number): string {
  return TAG_NAMES[tag] ?? `tag 0x${tag.toString(16).padStart(2, '0')}`;
}

/**
 * Reads consecutive TLVs from `buf` (one level: nested content is read with another
 * reader). `what` names the structure in error messages.
 */
export class DerReader {
  private pos = 0;

  /**
   * @param buf - the bytes to read.
   * @param what - the structure's name for error messages, e.g. `"SubjectPublicKeyInfo"`.
   */
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  /** True when every byte was read. */
  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Reads the next TLV, which must carry `tag`; `field` names it in error messages. */
  expect(tag: number, field: string): DerNode {
    const node = this.next(field);
    if (node.tag !== tag) {
      throw new DerError(`${this.what}: ${field} should be ${tagName(tag)}, found ${tagName(node.tag)}`);
    }
    return node;
  }

  /** Reads the next TLV whatever its tag; `field` names it in error messages. */
  next(field: string): DerNode {
    const offset = this.pos;
    if (offset >= this.buf.length) throw new DerError(`${this.what}: ${field} is missing`);
    const tag = this.buf[offset] as number;
    if ((tag & 0x1f) === 0x1f) throw new DerError(`${this.what}: ${field} uses a multi-byte tag`);
    let p = offset + 1;
    if (p >= this.buf.length) throw new DerError(`${this.what}: ${field} is truncated (no length)`);
    const first = this.buf[p++] as number;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else if (first === 0x80) {
      throw new DerError(`${this.what}: ${field} has an indefinite length (BER, not DER)`);
    } else {
      const n = first & 0x7f;
      if (n > 4) throw new DerError(`${this.what}: ${field} has a ${n}-byte length`);
      if (p + n > this.buf.length) throw new DerError(`${this.what}: ${field} is truncated (length)`);
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (this.buf[p + i] as number);
      if (this.buf[p] === 0 || length < 0x80) {
        throw new DerError(`${this.what}: ${field} has a non-minimal length encoding (BER, not DER)`);
      }
      p += n;
    }
    if (p + length > this.buf.length) {
      throw new DerError(`${this.what}: ${field} is truncated (${length} bytes announced, ${this.buf.length - p} present)`);
    }
    this.pos = p + length;
    return { tag, offset, content: this.buf.subarray(p, p + length) };
  }

  /** Fails when bytes remain; `after` names what they follow. */
  end(after: string): void {
    if (!this.done) {
      throw new DerError(`${this.what}: ${this.buf.length - this.pos} unexpected trailing bytes after ${after}`);
    }
  }
}

/** Decodes the content of a DER INTEGER that must be non-negative. */
export function decodeUnsignedInteger(node: DerNode, field: string, what: string): bigint {
  const c = node.content;
  if (c.length === 0) throw new DerError(`${what}: ${field} is an empty INTEGER`);
  if (c.length > 1 && ((c[0] === 0x00 && (c[1] as number) < 0x80) || (c[0] === 0xff && (c[1] as number) >= 0x80))) {
    throw new DerError(`${what}: ${field} INTEGER is not minimally encoded (BER, not DER)`);
  }
  if ((c[0] as number) >= 0x80) throw new DerError(`${what}: ${field} is a negative INTEGER`);
  return BigInt(`0x${c.toString('hex')}`);
}

/** Decodes the content of an OBJECT IDENTIFIER to dotted form (`"1.2.840.113549.1.3.1"`). */
export function decodeOid(node: DerNode, what: string): string {
  const c = node.content;
  if (c.length === 0) throw new DerError(`${what}: empty OBJECT IDENTIFIER`);
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = 0; i < c.length; i++) {
    const byte = c[i] as number;
    if (value === 0n && byte === 0x80) throw new DerError(`${what}: OBJECT IDENTIFIER arc is not minimally encoded`);
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    } else if (i === c.length - 1) {
      throw new DerError(`${what}: OBJECT IDENTIFIER is truncated`);
    }
  }
  const first = arcs[0] as bigint;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

// ── writing ──────────────────────────────────────────────────────────────────

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV from a tag and its content. */
export function derTlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** A SEQUENCE of already encoded elements. */
export function derSequence(...elements: Uint8Array[]): Buffer {
  return derTlv(DER_TAG.SEQUENCE, Buffer.concat(elements));
}

/** A non-negative INTEGER, minimally encoded (a leading 0x00 when the high bit is set). */
export function derUnsignedInteger(value: bigint | number): Buffer {
  const v = BigInt(value);
  if (v < 0n) throw new RangeError('derUnsignedInteger() needs a non-negative value');
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] as number) >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return derTlv(DER_TAG.INTEGER, bytes);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function derOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [a0, a1, ...rest] = arcs;
  if (a0 === undefined || a1 === undefined) throw new RangeError(`not an OID: ${dotted}`);
  const bytes: number[] = [];
  for (const arc of [a0 * 40n + a1, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...chunk);
  }
  return derTlv(DER_TAG.OBJECT_IDENTIFIER, Buffer.from(bytes));
}

/** A BIT STRING of whole bytes (no unused bits). */
export function derBitString(bytes: Uint8Array): Buffer {
  return derTlv(DER_TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), bytes]));
}
