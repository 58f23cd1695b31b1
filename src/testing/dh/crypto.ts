/**
 * The cryptography of the DH exercise (DH-EXERCISE.md), with `node:crypto` only and
 * byte-compatible with the JDK's `DH` provider: keys as `PublicKey.getEncoded()`
 * (X.509 SubjectPublicKeyInfo, OID `dhKeyAgreement`, parameters `(p, g[, l])`),
 * secrets as `KeyAgreement.generateSecret()` (left-padded to the length of `p`),
 * confirmations as base64 HmacSHA1 over the connection id.
 *
 * Parsing never throws on bad input: it returns a {@link DhResult} whose `reason`
 * says in plain words what is wrong, for the round log.
 *
 * @module
 */
import {
  checkPrimeSync,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  getDiffieHellman,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import type { DhRole } from './events.js';
import {
  decodeOid,
  decodeUnsignedInteger,
  DER_TAG,
  DerError,
  DerReader,
  derBitString,
  derOid,
  derSequence,
  derTlv,
  derUnsignedInteger,
} from './der.js';

/** PKCS#3 `dhKeyAgreement`, the algorithm OID of the JDK's DH keys. */
export const DH_OID = '1.2.840.113549.1.3.1';

/** Smallest and largest `p` accepted from a peer, in bits (the JDK's own DH limits). */
export const DH_PRIME_BITS = Object.freeze({
  /** Smallest accepted size of `p`, in bits. */
  min: 512,
  /** Largest accepted size of `p`, in bits. */
  max: 8192,
});

/** Length of an HmacSHA1 output in bytes. */
const HMAC_SHA1_BYTES = 20;

/** Either a value or the plain-words reason there is none. */
export type DhResult<T> = DhSuccess<T> | DhFailure;

/** A {@link DhResult} that holds a value. */
export interface DhSuccess<T> {
  /** Always true. */
  readonly ok: true;
  /** The value. */
  readonly value: T;
}

/** A {@link DhResult} that holds why there is no value. */
export interface DhFailure {
  /** Always false. */
  readonly ok: false;
  /** Why, in plain words (e.g. "dh2 carried no dhpub"). */
  readonly reason: string;
}

/** DH domain parameters: prime `p`, generator `g`, optional private-value length `l` in bits. */
export interface DhGroup {
  /** The prime modulus. */
  readonly p: bigint;
  /** The generator. */
  readonly g: bigint;
  /** Private value length in bits, as the JDK puts it in its keys (absent or 0: none). */
  readonly l?: number | undefined;
}

/** A parsed DH public key: its group and the public value `y = g^x mod p`. */
export interface DhPublicKeyInfo extends DhGroup {
  /** The public value. */
  readonly y: bigint;
}

/** A parsed DH private key (PKCS#8): its group and the private value `x`. */
export interface DhPrivateKeyInfo extends DhGroup {
  /** The private value. */
  readonly x: bigint;
}

/** Key sizes of the JDK's precomputed default groups that the reference peer offers. */
export type DhGroupBits = 1024 | 2048 | 3072;

/**
 * The JDK 17 default groups (`KeyPairGenerator.getInstance("DH").initialize(bits)`):
 * RFC 2409 Oakley group 2 (1024), RFC 3526 groups 14 (2048) and 15 (3072), g = 2,
 * with the private value lengths the JDK writes as `l` (checked against the Java
 * fixtures in test/fixtures/dh).
 */
const JDK_GROUPS: Readonly<Record<DhGroupBits, { readonly name: string; readonly l: number }>> = {
  1024: { name: 'modp2', l: 160 },
  2048: { name: 'modp14', l: 224 },
  3072: { name: 'modp15', l: 256 },
};

/** The sizes of {@link jdkGroup}, ascending: what `chat-roulette peer --bits` accepts. */
export const JDK_GROUP_BITS: readonly DhGroupBits[] = Object.freeze(
  Object.keys(JDK_GROUPS)
    .map(Number)
    .sort((a, b) => a - b) as DhGroupBits[],
);

const groupCache = new Map<DhGroupBits, DhGroup>();

/** The JDK's default DH group of `bits` bits (precomputed: no prime generation). */
export function jdkGroup(bits: DhGroupBits): DhGroup {
  let group = groupCache.get(bits);
  if (group === undefined) {
    const { name, l } = JDK_GROUPS[bits];
    group = Object.freeze({ p: toBigInt(getDiffieHellman(name).getPrime()), g: 2n, l });
    groupCache.set(bits, group);
  }
  return group;
}

// ── conversions ───────────────────────────────────────────────────────────────

/** Big-endian unsigned bytes to a bigint. */
export function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** A non-negative bigint as big-endian bytes, left-padded with zeros to `length` when given. */
export function toBytes(value: bigint, length = 0): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex === '00' ? '' : hex, 'hex');
  return bytes.length >= length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}

/** Bit length of a non-negative bigint. */
export function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/** Byte length of `p`: the length of every secret in its group. */
export function byteLength(p: bigint): number {
  return Math.ceil(bitLength(p) / 8);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True for non-empty standard, padded base64 without whitespace (Java's `Base64.getEncoder()`). */
export function isBase64(text: string): boolean {
  return text.length > 0 && BASE64.test(text);
}

// ── public keys ───────────────────────────────────────────────────────────────

/**
 * Parses a `dhpub` field: base64 of a DER SubjectPublicKeyInfo with OID
 * {@link DH_OID}. Checks the encoding only; see {@link checkPublicValue} and
 * {@link checkGroup} for the numbers. `field` names the value in reasons.
 */
export function parseDhPublicKey(dhpub: unknown, field = 'dhpub'): DhResult<DhPublicKeyInfo> {
  if (typeof dhpub !== 'string') return fail(`${field} is not a string`);
  if (!isBase64(dhpub)) return fail(`${field} is not base64`);
  return parseDhPublicKeyDer(Buffer.from(dhpub, 'base64'), field);
}

/** Parses DER SubjectPublicKeyInfo bytes of a DH key (see {@link parseDhPublicKey}). */
export function parseDhPublicKeyDer(der: Buffer, field = 'dhpub'): DhResult<DhPublicKeyInfo> {
  const what = `${field} SubjectPublicKeyInfo`;
  try {
    const outer = new DerReader(der, what);
    const spki = outer.expect(DER_TAG.SEQUENCE, 'the outer structure');
    outer.end('the SubjectPublicKeyInfo');
    const body = new DerReader(spki.content, what);
    const algorithm = new DerReader(body.expect(DER_TAG.SEQUENCE, 'AlgorithmIdentifier').content, what);
    const oid = decodeOid(algorithm.expect(DER_TAG.OBJECT_IDENTIFIER, 'algorithm OID'), what);
    if (oid !== DH_OID) {
      return fail(`${field} is not a DH SubjectPublicKeyInfo (OID ${DH_OID}): its algorithm is ${describeOid(oid)}`);
    }
    const group = readGroup(algorithm, what);
    algorithm.end('the DH parameters');
    const bits = body.expect(DER_TAG.BIT_STRING, 'subjectPublicKey');
    body.end('subjectPublicKey');
    if (bits.content.length === 0 || bits.content[0] !== 0) {
      return fail(`${what}: subjectPublicKey BIT STRING has unused bits`);
    }
    const key = new DerReader(bits.content.subarray(1), `${field} public value`);
    const y = decodeUnsignedInteger(key.expect(DER_TAG.INTEGER, 'y'), 'y', `${field} public value`);
    key.end('y');
    return { ok: true, value: { ...group, y } };
  } catch (error) {
    if (error instanceof DerError) return fail(`${field} is not DER: ${error.message}`);
    throw error;
  }
}

/**
 * Encodes a DH public key exactly as the JDK's `PublicKey.getEncoded()`:
 * `SEQUENCE { SEQUENCE { dhKeyAgreement, SEQUENCE { p, g[, l] } }, BIT STRING { INTEGER y } }`,
 * `l` present when non-zero.
 */
export function encodeDhPublicKey(key: DhPublicKeyInfo): Buffer {
  return derSequence(derSequence(derOid(DH_OID), encodeGroup(key)), derBitString(derUnsignedInteger(key.y)));
}

/** Parses a PKCS#8 DH private key as the JDK's `PrivateKey.getEncoded()` writes it. */
export function parseDhPrivateKey(der: Buffer): DhResult<DhPrivateKeyInfo> {
  const what = 'PKCS#8 PrivateKeyInfo';
  try {
    const outer = new DerReader(der, what);
    const info = new DerReader(outer.expect(DER_TAG.SEQUENCE, 'the outer structure').content, what);
    outer.end('the PrivateKeyInfo');
    const version = decodeUnsignedInteger(info.expect(DER_TAG.INTEGER, 'version'), 'version', what);
    if (version !== 0n) return fail(`${what}: version ${version}, expected 0`);
    const algorithm = new DerReader(info.expect(DER_TAG.SEQUENCE, 'AlgorithmIdentifier').content, what);
    const oid = decodeOid(algorithm.expect(DER_TAG.OBJECT_IDENTIFIER, 'algorithm OID'), what);
    if (oid !== DH_OID) return fail(`${what} is not a DH key (OID ${DH_OID}): its algorithm is ${describeOid(oid)}`);
    const group = readGroup(algorithm, what);
    const octets = new DerReader(info.expect(DER_TAG.OCTET_STRING, 'privateKey').content, `${what} private value`);
    const x = decodeUnsignedInteger(octets.expect(DER_TAG.INTEGER, 'x'), 'x', what);
    return { ok: true, value: { ...group, x } };
  } catch (error) {
    if (error instanceof DerError) return fail(`not DER: ${error.message}`);
    throw error;
  }
}

function readGroup(algorithm: DerReader, what: string): DhGroup {
  const params = new DerReader(algorithm.expect(DER_TAG.SEQUENCE, 'DH parameters (p, g[, l])').content, `${what} parameters`);
  const p = decodeUnsignedInteger(params.expect(DER_TAG.INTEGER, 'p'), 'p', what);
  const g = decodeUnsignedInteger(params.expect(DER_TAG.INTEGER, 'g'), 'g', what);
  if (params.done) return { p, g };
  const l = decodeUnsignedInteger(params.expect(DER_TAG.INTEGER, 'l'), 'l', what);
  params.end('l');
  if (l > BigInt(DH_PRIME_BITS.max)) throw new DerError(`${what}: l = ${l} is larger than any DH private value`);
  return { p, g, l: Number(l) };
}

function encodeGroup(group: DhGroup): Buffer {
  const l = group.l ?? 0;
  return l > 0
    ? derSequence(derUnsignedInteger(group.p), derUnsignedInteger(group.g), derUnsignedInteger(l))
    : derSequence(derUnsignedInteger(group.p), derUnsignedInteger(group.g));
}

const KNOWN_OIDS: Readonly<Record<string, string>> = {
  '1.2.840.10046.2.1': 'X9.42 dhpublicnumber',
  '1.2.840.113549.1.1.1': 'rsaEncryption',
  '1.2.840.10045.2.1': 'id-ecPublicKey',
  '1.2.840.10040.4.1': 'id-dsa',
  '1.3.101.110': 'X25519',
};

function describeOid(oid: string): string {
  const name = KNOWN_OIDS[oid];
  return name === undefined ? oid : `${oid} (${name})`;
}

// ── numbers ──────────────────────────────────────────────────────────────────

/**
 * The public-value range check: `1 < y < p − 1` (NIST SP 800-56A partial
 * validation). Returns the reason when out of range.
 */
export function checkPublicValue(y: bigint, p: bigint, field = 'dhpub'): string | undefined {
  if (y <= 1n) return `${field} key is out of range: y = ${y}, must be 1 < y < p−1`;
  if (y >= p - 1n) return `${field} key is out of range: y ${y === p - 1n ? '= p−1' : '≥ p'}, must be 1 < y < p−1`;
  return undefined;
}

/**
 * Well-known safe primes (RFC 2409 groups 1, 2; RFC 3526 groups 5, 14–18): no
 * primality test needed. Those above 2048 bits (RFC 3526 groups 15–18: 3072, 4096,
 * 6144, 8192 bits) are the JDK's default groups of those sizes.
 */
const WELL_KNOWN_GROUPS = ['modp1', 'modp2', 'modp5', 'modp14', 'modp15', 'modp16', 'modp17', 'modp18'] as const;

/**
 * Largest `p`, in bits, that {@link checkGroup} tests for primality itself (tens of ms
 * at most); larger groups must be well known (the RFC 2409 / RFC 3526 MODP groups,
 * which include the JDK defaults), since Miller–Rabin on a prime blocks for seconds (3072 bits ≈ 2 s, 8192 bits ≈ 18 s), past the
 * server's liveness timeout.
 */
export const DH_TESTED_PRIME_MAX_BITS = 2048;

let wellKnownPrimes: ReadonlySet<bigint> | undefined;
const primeCache = new Map<bigint, boolean>();

function wellKnown(): ReadonlySet<bigint> {
  wellKnownPrimes ??= new Set(WELL_KNOWN_GROUPS.map((name) => toBigInt(getDiffieHellman(name).getPrime())));
  return wellKnownPrimes;
}

/** Miller–Rabin for p of at most {@link DH_TESTED_PRIME_MAX_BITS} bits, cached. */
function isPrime(p: bigint): boolean {
  let prime = primeCache.get(p);
  if (prime === undefined) {
    prime = checkPrimeSync(p);
    if (primeCache.size > 256) primeCache.clear();
    primeCache.set(p, prime);
  }
  return prime;
}

/** Sizes in bits of the well-known groups above {@link DH_TESTED_PRIME_MAX_BITS}, for reasons. */
function largeKnownSizes(): string {
  const sizes = [...wellKnown()].map(bitLength).filter((bits) => bits > DH_TESTED_PRIME_MAX_BITS);
  return [...new Set(sizes)].sort((a, b) => a - b).join(', ');
}

/**
 * Plausibility of a group chosen by the other side. Returns the reason when not:
 *
 * - `p` of {@link DH_PRIME_BITS} bits;
 * - `1 < g < p − 1`;
 * - `l`, when present and non-zero, `2 ≤ l < bitLength(p)` (a private value of
 *   `l` bits must fit below `p`; the JDK's own groups have l = 160..256);
 * - `p` prime: well-known groups are accepted at once; other groups of at most
 *   {@link DH_TESTED_PRIME_MAX_BITS} bits are tested (Miller–Rabin, tens of ms);
 *   other groups above that size are refused without a test, because the test of a
 *   large prime blocks the event loop for seconds. Students use the JDK's default
 *   groups (`KeyPairGenerator.getInstance("DH").initialize(bits)`), which for 3072
 *   bits and more are the RFC 3526 MODP groups, so a teacher loses nothing; a
 *   student's own `DHParameterSpec` above 2048 bits gets a reason saying so.
 *
 * Never takes more than tens of milliseconds.
 */
export function checkGroup(group: DhGroup, field = 'dhpub'): string | undefined {
  const bits = bitLength(group.p);
  if (bits < DH_PRIME_BITS.min || bits > DH_PRIME_BITS.max) {
    return `${field} group has a ${bits}-bit p, outside ${DH_PRIME_BITS.min}..${DH_PRIME_BITS.max} bits`;
  }
  if (group.g <= 1n || group.g >= group.p - 1n) return `${field} group has g out of range (1 < g < p−1)`;
  const l = group.l ?? 0;
  if (l !== 0 && (l < 2 || l >= bits)) return `${field} group has l = ${l}, outside 2..${bits - 1}`;
  if (wellKnown().has(group.p)) return undefined;
  if (bits > DH_TESTED_PRIME_MAX_BITS) {
    return (
      `${field} group of ${bits} bits is not a known JDK group; groups above ${DH_TESTED_PRIME_MAX_BITS} bits ` +
      `must be one of the JDK defaults (RFC 3526 MODP ${largeKnownSizes()} bits)`
    );
  }
  return isPrime(group.p) ? undefined : `${field} group's p is not prime`;
}

/** True when both groups have the same `p` and `g` (`l` is a private-key detail and ignored). */
export function sameGroup(a: DhGroup, b: DhGroup): boolean {
  return a.p === b.p && a.g === b.g;
}

// ── key pairs and secrets ─────────────────────────────────────────────────────

/** A DH key pair of the reference peer, in one group. */
export class DhKeyPair {
  /** The public key, as {@link encodeDhPublicKey} encodes it. */
  readonly publicKey: DhPublicKeyInfo;
  private readonly privateKey: KeyObject;

  private constructor(
    /** The group of both keys. */
    readonly group: DhGroup,
    x: bigint,
  ) {
    // Through KeyObjects (OpenSSL's EVP_PKEY): createDiffieHellman(p, g) would run a
    // safe-prime check of p on every key pair (tens of ms for the 1024-bit group).
    this.privateKey = createPrivateKey({ key: encodeDhPrivateKey({ ...group, x }), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.privateKey).export({ type: 'spki', format: 'der' });
    const parsed = parseDhPublicKeyDer(spki);
    if (!parsed.ok) throw new Error(`OpenSSL wrote an unreadable DH key: ${parsed.reason}`);
    this.publicKey = { ...group, y: parsed.value.y };
  }

  /**
   * A fresh key pair, as the JDK makes it: `x` of `l` bits (top bit set) when the
   * group has `l`, otherwise of `bitLength(p) − 1` bits. An `l` outside
   * `2..bitLength(p) − 1` (which {@link checkGroup} refuses) is clamped into that
   * range, so every candidate satisfies `1 < x < p − 1` and generation is one draw.
   *
   * @throws RangeError when `p < 5`: no private value `1 < x < p − 1` exists.
   */
  static generate(group: DhGroup): DhKeyPair {
    if (group.p < 5n) throw new RangeError(`DH group with p = ${group.p} has no private value 1 < x < p−1`);
    const maxBits = bitLength(group.p - 1n) - 1; // 2^maxBits ≤ p − 1: any x of maxBits bits is below p − 1
    const l = group.l !== undefined && group.l > 0 ? group.l : maxBits;
    const bits = Math.min(Math.max(l, 2), maxBits);
    const bytes = randomBytes(Math.ceil(bits / 8));
    let x = toBigInt(bytes) & ((1n << BigInt(bits)) - 1n);
    x |= 1n << BigInt(bits - 1);
    return new DhKeyPair(group, x);
  }

  /** The key pair of a known private value (e.g. a Java fixture's PKCS#8 key). */
  static fromPrivate(group: DhGroup, x: bigint): DhKeyPair {
    return new DhKeyPair(group, x);
  }

  /** `PublicKey.getEncoded()`: DER SubjectPublicKeyInfo. */
  get encoded(): Buffer {
    return encodeDhPublicKey(this.publicKey);
  }

  /** The `dhpub` field: base64 of {@link DhKeyPair.encoded}. */
  get dhpub(): string {
    return this.encoded.toString('base64');
  }

  /**
   * `KeyAgreement.generateSecret()`: `y^x mod p`, big-endian, left-padded with zeros
   * to the byte length of `p`. `y` must already be range-checked
   * ({@link checkPublicValue}); the other side's key is taken in our group.
   */
  secretWith(y: bigint): Buffer {
    const publicKey = createPublicKey({ key: encodeDhPublicKey({ ...this.group, y }), format: 'der', type: 'spki' });
    const raw = diffieHellman({ privateKey: this.privateKey, publicKey });
    // OpenSSL may strip leading zeros; the JDK never does (DH-EXERCISE.md).
    return toBytes(toBigInt(raw), byteLength(this.group.p));
  }
}

/** Encodes a DH private key as the JDK's `PrivateKey.getEncoded()` (PKCS#8, version 0). */
export function encodeDhPrivateKey(key: DhPrivateKeyInfo): Buffer {
  return derSequence(
    derUnsignedInteger(0),
    derSequence(derOid(DH_OID), encodeGroup(key)),
    derTlv(DER_TAG.OCTET_STRING, derUnsignedInteger(key.x)),
  );
}

// ── roles and confirmation ────────────────────────────────────────────────────

/** `DH-EXERCISE.md` roles: the smaller uco in UTF-16 code-unit order (Java's `compareTo`) initiates. */
export function roleOf(own: string, other: string): DhRole {
  return own < other ? 'initiator' : 'responder';
}

/** `DH-EXERCISE.md` connection id: `"<initiator uco>|<responder uco>"`. */
export function connectionIdOf(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The `dhverif` field: base64 of HmacSHA1(key = secret, data = UTF-8 connection id). */
export function dhverif(secret: Uint8Array, connectionId: string): string {
  return hmacSha1(secret, connectionId).toString('base64');
}

function hmacSha1(secret: Uint8Array, data: string): Buffer {
  return createHmac('sha1', secret).update(data, 'utf8').digest();
}

/** Constant-time equality of two byte strings (lengths are not secret). */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a received `dhverif` against our secret, in constant time. On a mismatch it
 * tries the usual mistakes, so the reason can say which one it probably was: a secret
 * stripped of its leading zero byte(s), a secret with a sign byte
 * (`BigInteger.toByteArray()`), the connection id the wrong way round, HmacSHA256.
 */
export function checkDhverif(received: unknown, secret: Buffer, connectionId: string): DhResult<true> {
  if (received === undefined) return fail('dhc carried no dhverif');
  if (typeof received !== 'string') return fail('dhverif is not a string');
  if (!isBase64(received)) return fail('dhverif is not base64');
  const mac = Buffer.from(received, 'base64');
  if (safeEqual(mac, hmacSha1(secret, connectionId))) return { ok: true, value: true };
  const [initiator = '', responder = ''] = connectionId.split('|');
  const reversed = `${responder}|${initiator}`;
  const stripped = stripLeadingZeros(secret);
  const signed = (stripped[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.alloc(1), stripped]) : stripped;
  const guesses: ReadonlyArray<readonly [Buffer, string, string]> = [
    [stripped, connectionId, 'secret probably stripped of a leading zero'],
    [secret, reversed, 'roles probably swapped'],
    [stripped, reversed, 'secret probably stripped of a leading zero and roles swapped'],
    [signed, connectionId, 'secret probably taken from BigInteger.toByteArray() (sign byte)'],
  ];
  for (const [key, data, why] of guesses) {
    if (key.equals(secret) && data === connectionId) continue;
    if (safeEqual(mac, hmacSha1(key, data))) return fail(`dhverif does not match: ${why}`);
  }
  if (mac.length !== HMAC_SHA1_BYTES) {
    const sha256 = createHmac('sha256', secret).update(connectionId, 'utf8').digest();
    if (safeEqual(mac, sha256)) return fail('dhverif does not match: HmacSHA256 used instead of HmacSHA1');
    return fail(`dhverif does not match: ${mac.length} bytes, not the ${HMAC_SHA1_BYTES} of HmacSHA1`);
  }
  return fail('dhverif does not match');
}

function stripLeadingZeros(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

function fail(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason };
}
