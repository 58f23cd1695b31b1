/**
 * A parser of the PROXY protocol header (HAProxy's `proxy-protocol.txt`, versions 1
 * and 2) that a TCP balancer sends first on each connection to carry the client's
 * address, and a writer of version 1 headers for a balancer of one's own. Pure: bytes
 * in, a result out; {@link ProxyHeaderGate} reads it off sockets.
 *
 * @module
 */
import net from 'node:net';
import { RouletteError } from '../core/errors.js';

/** Longest version 1 header, `"\r\n"` included (proxy-protocol.txt §2.1). */
export const PROXY_V1_MAX_BYTES = 107;

/**
 * Longest version 2 header accepted, in bytes: the 16-byte preamble, the addresses
 * (at most 216 bytes) and the TLVs. The protocol allows 65 551; the TLVs balancers
 * send (AWS, GCP, Azure, HAProxy's SSL details) are far shorter, and the bound
 * limits what a peer that never finishes its header makes the server hold.
 */
export const PROXY_V2_MAX_BYTES = 4_096;

/** The 12 bytes that open a version 2 header. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The 6 bytes that open a version 1 header. */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** Bytes of the preamble of a version 2 header: signature, version/command, family, length. */
const V2_PREAMBLE_BYTES = 16;
/** Bytes of the address block of each version 2 address family (UNSPEC, INET, INET6, UNIX). */
const V2_ADDRESS_BYTES = [0, 12, 36, 216] as const;
const CR = 0x0d;
const LF = 0x0a;

/** One end of the proxied connection. */
export interface ProxyEndpoint {
  /** The IP address, normalised (`"203.0.113.7"`, `"2001:db8::1"`). */
  readonly address: string;
  /** The TCP port, 0–65535. */
  readonly port: number;
  /** `"IPv4"` or `"IPv6"`. */
  readonly family: 'IPv4' | 'IPv6';
}

/** A version 2 type-length-value extension, uninterpreted. */
export interface ProxyTlv {
  /** The type byte (e.g. `0x01` ALPN, `0x02` authority, `0x20` SSL). */
  readonly type: number;
  /** The value bytes (a copy). */
  readonly value: Uint8Array;
}

/** A complete, valid PROXY header. */
export interface ProxyHeader {
  /** The protocol version: `1` (text) or `2` (binary). */
  readonly version: 1 | 2;
  /**
   * The client's end, or `undefined` when the header carries no IP address: version 1
   * `UNKNOWN`, version 2 `LOCAL` (the balancer's own health check), or a version 2
   * `UNSPEC`/`UNIX` family. Then the connection keeps the socket's own address.
   */
  readonly source: ProxyEndpoint | undefined;
  /** The end the client connected to (the balancer's), when {@link ProxyHeader.source} is set. */
  readonly destination: ProxyEndpoint | undefined;
  /** Version 2 TLVs in order; always empty for version 1. */
  readonly tlvs: readonly ProxyTlv[];
}

/** {@link parseProxyHeader}: the bytes are the start of a valid header, more are needed. */
export interface ProxyIncomplete {
  /** `"incomplete"`. */
  readonly kind: 'incomplete';
}

/** {@link parseProxyHeader}: a complete header; the bytes after it are the client's. */
export interface ProxyComplete {
  /** `"header"`. */
  readonly kind: 'header';
  /** The header. */
  readonly header: ProxyHeader;
  /** Its length in bytes: the client's bytes start there. */
  readonly length: number;
}

/** {@link parseProxyHeader}: not a PROXY header, or a malformed or oversized one. */
export interface ProxyInvalid {
  /** `"invalid"`. */
  readonly kind: 'invalid';
  /** What is wrong, for logs (e.g. `"v1: no CRLF within 107 bytes"`). */
  readonly reason: string;
}

/** The outcome of {@link parseProxyHeader}. */
export type ProxyParseResult = ProxyIncomplete | ProxyComplete | ProxyInvalid;

const INCOMPLETE: ProxyParseResult = Object.freeze({ kind: 'incomplete' });

function invalid(reason: string): ProxyParseResult {
  return { kind: 'invalid', reason };
}

/**
 * Parses the PROXY header at the start of `bytes`, everything received so far on a
 * connection. Call it again with more bytes while it answers `incomplete`; the
 * answer for a prefix of a valid header is always `incomplete`, and a header is
 * judged `invalid` as soon as its bytes so far cannot start a valid one or exceed
 * {@link PROXY_V1_MAX_BYTES} / {@link PROXY_V2_MAX_BYTES}.
 *
 * @param bytes - the connection's first bytes, header and possibly more.
 * @returns the header and its length, `incomplete`, or `invalid` with a reason.
 *
 * @example
 * ```ts
 * const result = parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51000 44333\r\n{"cmd":"connect"}'));
 * // { kind: 'header', length: 45, header: { version: 1, source: { address: '203.0.113.7', port: 51000, … }, … } }
 * ```
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyParseResult {
  if (bytes.length === 0) return INCOMPLETE;
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? INCOMPLETE : parseV1(bytes);
  return invalid('not a PROXY protocol header');
}

/** Whether the first bytes of `bytes` (as many as both have) equal `prefix`'s. */
function startsLike(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

// ── version 1: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" ─────────────────────

function parseV1(bytes: Uint8Array): ProxyParseResult {
  const end = Math.min(bytes.length, PROXY_V1_MAX_BYTES);
  let lf = -1;
  for (let i = V1_PREFIX.length; i < end; i++) {
    const b = bytes[i] as number;
    if (b === LF) {
      lf = i;
      break;
    }
    // Printable ASCII only; "\r" only right before "\n".
    if (b === CR ? i + 1 < bytes.length && bytes[i + 1] !== LF : b < 0x20 || b > 0x7e) return invalid('v1: unexpected byte in the header');
  }
  if (lf < 0) return bytes.length >= PROXY_V1_MAX_BYTES ? invalid(`v1: no CRLF within ${PROXY_V1_MAX_BYTES} bytes`) : INCOMPLETE;
  if (bytes[lf - 1] !== CR) return invalid('v1: line not ended by CRLF');
  const line = Buffer.from(bytes.buffer, bytes.byteOffset, lf - 1).toString('latin1');
  const fields = line.split(' ');
  const protocol = fields[1];
  const length = lf + 1;
  // proxy-protocol.txt §2.1: after UNKNOWN, the rest of the line is ignored.
  if (protocol === 'UNKNOWN') return { kind: 'header', length, header: { version: 1, source: undefined, destination: undefined, tlvs: [] } };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return invalid(`v1: unknown protocol ${JSON.stringify(protocol ?? '')}`);
  if (fields.length !== 6) return invalid('v1: expected 4 fields after the protocol, separated by single spaces');
  const family = protocol === 'TCP4' ? 'IPv4' : 'IPv6';
  const source = v1Endpoint(family, fields[2] as string, fields[4] as string);
  const destination = v1Endpoint(family, fields[3] as string, fields[5] as string);
  if (source === undefined || destination === undefined) return invalid(`v1: invalid ${protocol} address or port`);
  return { kind: 'header', length, header: { version: 1, source, destination, tlvs: [] } };
}

function v1Endpoint(family: 'IPv4' | 'IPv6', address: string, portText: string): ProxyEndpoint | undefined {
  if (!(family === 'IPv4' ? net.isIPv4(address) : net.isIPv6(address))) return undefined;
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65_535) return undefined;
  return { address: normalise(address, family), port, family };
}

/** One spelling per address, so that `maxConnectionsPerAddress` counts it once. */
function normalise(address: string, family: 'IPv4' | 'IPv6'): string {
  return family === 'IPv4' ? address : new net.SocketAddress({ address, family: 'ipv6' }).address;
}

/**
 * The version 1 (text) PROXY header for a proxied connection, as a balancer writes it
 * first to the server (proxy-protocol.txt §2.1): `"PROXY TCP4 <src> <dst> <sport>
 * <dport>\r\n"` (`TCP6` for IPv6), or `"PROXY UNKNOWN\r\n"` when `source` is
 * `undefined` (the server then keeps the socket's own address). Its inverse is
 * {@link parseProxyHeader}: parsing the result gives back a version 1 header with the
 * same endpoints (IPv6 addresses normalised).
 *
 * @param endpoints - `source`, the client's end (its socket's `remoteAddress`,
 *   `remotePort`, `remoteFamily`), and `destination`, the end it connected to (the
 *   balancer's `localAddress`…); both of one family, or both `undefined`.
 * @returns the header, ASCII, at most {@link PROXY_V1_MAX_BYTES} bytes.
 * @throws {@link RouletteError} `ERR_INVALID_ARGUMENT` when only one end is given, the
 *   families differ, an address is not of its family, or a port is not an integer 0–65535.
 *
 * @example
 * ```ts
 * formatProxyHeaderV1({
 *   source: { address: '203.0.113.7', port: 51000, family: 'IPv4' },
 *   destination: { address: '10.0.0.1', port: 44333, family: 'IPv4' },
 * }); // 'PROXY TCP4 203.0.113.7 10.0.0.1 51000 44333\r\n'
 * ```
 */
export function formatProxyHeaderV1(endpoints: Pick<ProxyHeader, 'source' | 'destination'>): string {
  const { source, destination } = endpoints;
  if (source === undefined && destination === undefined) return 'PROXY UNKNOWN\r\n';
  if (source === undefined || destination === undefined) throw new RouletteError('ERR_INVALID_ARGUMENT', 'formatProxyHeaderV1: give both source and destination, or neither');
  if (source.family !== destination.family) throw new RouletteError('ERR_INVALID_ARGUMENT', `formatProxyHeaderV1: source is ${source.family}, destination ${destination.family}`);
  for (const end of [source, destination]) {
    if (!(end.family === 'IPv4' ? net.isIPv4(end.address) : end.family === 'IPv6' && net.isIPv6(end.address))) {
      throw new RouletteError('ERR_INVALID_ARGUMENT', `formatProxyHeaderV1: ${JSON.stringify(end.address)} is not an ${String(end.family)} address`);
    }
    if (!Number.isInteger(end.port) || end.port < 0 || end.port > 65_535) throw new RouletteError('ERR_INVALID_ARGUMENT', `formatProxyHeaderV1: port ${end.port} is not an integer from 0 to 65535`);
  }
  const protocol = source.family === 'IPv4' ? 'TCP4' : 'TCP6';
  return `PROXY ${protocol} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`;
}

// ── version 2: signature, ver/cmd, family, length, addresses, TLVs ──────────────

function parseV2(bytes: Uint8Array): ProxyParseResult {
  const versionCommand = bytes[12];
  if (versionCommand === undefined) return INCOMPLETE;
  if (versionCommand >> 4 !== 2) return invalid(`v2: version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid(`v2: unknown command ${command}`);
  const familyByte = bytes[13];
  if (familyByte === undefined) return INCOMPLETE;
  const addressFamily = familyByte >> 4;
  if (addressFamily > 3 || (familyByte & 0x0f) > 2) return invalid(`v2: unknown address family or transport 0x${familyByte.toString(16)}`);
  if (bytes.length < V2_PREAMBLE_BYTES) return INCOMPLETE;
  const rest = ((bytes[14] as number) << 8) | (bytes[15] as number);
  const length = V2_PREAMBLE_BYTES + rest;
  if (length > PROXY_V2_MAX_BYTES) return invalid(`v2: header of ${length} bytes, more than ${PROXY_V2_MAX_BYTES}`);
  const addressBytes = V2_ADDRESS_BYTES[addressFamily as 0 | 1 | 2 | 3];
  if (rest < addressBytes) return invalid(`v2: ${rest} bytes after the preamble, too few for the address family`);
  if (bytes.length < length) return INCOMPLETE;
  const tlvs = parseTlvs(bytes, V2_PREAMBLE_BYTES + addressBytes, length);
  if (tlvs === undefined) return invalid('v2: a TLV overruns the header');
  let source: ProxyEndpoint | undefined;
  let destination: ProxyEndpoint | undefined;
  // LOCAL (the balancer's own connection, e.g. a health check): the addresses are ignored.
  // PROXY over UNSPEC or UNIX: nothing usable, the socket's own address stays.
  if (command === 1 && (addressFamily === 1 || addressFamily === 2)) {
    const at = V2_PREAMBLE_BYTES;
    const ipBytes = addressFamily === 1 ? 4 : 16;
    const ports = at + 2 * ipBytes;
    source = v2Endpoint(bytes, at, ipBytes, ports);
    destination = v2Endpoint(bytes, at + ipBytes, ipBytes, ports + 2);
  }
  return { kind: 'header', length, header: { version: 2, source, destination, tlvs } };
}

function v2Endpoint(bytes: Uint8Array, at: number, ipBytes: number, portAt: number): ProxyEndpoint {
  const port = ((bytes[portAt] as number) << 8) | (bytes[portAt + 1] as number);
  if (ipBytes === 4) return { address: `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`, port, family: 'IPv4' };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[at + i] as number) << 8) | (bytes[at + i + 1] as number)).toString(16));
  return { address: normalise(groups.join(':'), 'IPv6'), port, family: 'IPv6' };
}

/** The TLVs in `bytes[from, to)`, or `undefined` when one does not fit. */
function parseTlvs(bytes: Uint8Array, from: number, to: number): ProxyTlv[] | undefined {
  const tlvs: ProxyTlv[] = [];
  let at = from;
  while (at < to) {
    if (at + 3 > to) return undefined;
    const type = bytes[at] as number;
    const size = ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number);
    const valueAt = at + 3;
    if (valueAt + size > to) return undefined;
    tlvs.push({ type, value: new Uint8Array(bytes.subarray(valueAt, valueAt + size)) });
    at = valueAt + size;
  }
  return tlvs;
}
