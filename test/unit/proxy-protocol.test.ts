/**
 * The PROXY protocol header parser (HAProxy's proxy-protocol.txt, v1 and v2):
 * valid headers of each kind, any split across chunks, malformed and oversized
 * headers, and the client's bytes that follow a header in the same chunk; and the v1
 * writer, checked against the parser.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import net from 'node:net';
import {
  formatProxyHeaderV1,
  parseProxyHeader,
  RouletteError,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_BYTES,
  type ProxyEndpoint,
  type ProxyHeader,
  type ProxyParseResult,
} from '../../src/index.js';

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const PAYLOAD = Buffer.from('{"cmd":"connect","uco":"42","nonce":1}\n');

/** A v2 header: `command` 0 LOCAL / 1 PROXY, `family` the family/transport byte, then the rest. */
function v2(command: number, family: number, body: readonly number[]): Buffer {
  return Buffer.from([...SIGNATURE, 0x20 | command, family, body.length >> 8, body.length & 0xff, ...body]);
}

/** A TLV's bytes. */
function tlv(type: number, value: readonly number[]): number[] {
  return [type, value.length >> 8, value.length & 0xff, ...value];
}

/** IPv4 source 203.0.113.7:51000, destination 10.0.0.1:44333. */
const INET = [203, 0, 113, 7, 10, 0, 0, 1, 51000 >> 8, 51000 & 0xff, 44333 >> 8, 44333 & 0xff];
/** IPv6 source 2001:db8::7 port 51000, destination ::1 port 44333. */
const INET6 = [
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  51000 >> 8, 51000 & 0xff, 44333 >> 8, 44333 & 0xff,
];

function header(bytes: Uint8Array): { header: ProxyHeader; length: number } {
  const result = parseProxyHeader(bytes);
  assert.equal(result.kind, 'header', JSON.stringify(result));
  return result as Extract<ProxyParseResult, { kind: 'header' }>;
}

function reason(bytes: Uint8Array): string {
  const result = parseProxyHeader(bytes);
  assert.equal(result.kind, 'invalid', `expected invalid, got ${result.kind}`);
  return (result as Extract<ProxyParseResult, { kind: 'invalid' }>).reason;
}

/**
 * Feeds `bytes` in the given chunks as a socket would (each call sees everything so
 * far) and returns the first answer that is not `incomplete`, with the bytes left
 * after the header.
 */
function feed(chunks: readonly Uint8Array[]): { result: ProxyParseResult; rest: Buffer } {
  let seen = Buffer.alloc(0);
  for (const chunk of chunks) {
    seen = Buffer.concat([seen, chunk]);
    const result = parseProxyHeader(seen);
    if (result.kind === 'header') return { result, rest: seen.subarray(result.length) };
    if (result.kind === 'invalid') return { result, rest: Buffer.alloc(0) };
  }
  return { result: parseProxyHeader(seen), rest: Buffer.alloc(0) };
}

/** `bytes` cut at the given offsets. */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, to));
    from = to;
  }
  return chunks;
}

describe('PROXY v1 (text)', () => {
  test('TCP4: source and destination; the length ends after CRLF', () => {
    const text = 'PROXY TCP4 203.0.113.7 10.0.0.1 51000 44333\r\n';
    const { header: h, length } = header(Buffer.from(text));
    assert.equal(length, text.length);
    assert.deepEqual(h, {
      version: 1,
      source: { address: '203.0.113.7', port: 51000, family: 'IPv4' },
      destination: { address: '10.0.0.1', port: 44333, family: 'IPv4' },
      tlvs: [],
    });
  });

  test('TCP6: addresses normalised (one spelling per address)', () => {
    const { header: h } = header(Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:7 ::1 65535 0\r\n'));
    assert.deepEqual(h.source, { address: '2001:db8::7', port: 65535, family: 'IPv6' });
    assert.deepEqual(h.destination, { address: '::1', port: 0, family: 'IPv6' });
  });

  test('UNKNOWN, alone or followed by anything up to CRLF: no address', () => {
    for (const text of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n']) {
      const { header: h, length } = header(Buffer.from(text));
      assert.equal(length, text.length);
      assert.deepEqual(h, { version: 1, source: undefined, destination: undefined, tlvs: [] });
    }
  });

  test('the longest header (107 bytes, the worst case of the spec) is accepted', () => {
    const text = 'PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n';
    assert.equal(text.length, PROXY_V1_MAX_BYTES);
    assert.equal(header(Buffer.from(text)).length, 107);
    const tcp6 = header(Buffer.from(text.replace('UNKNOWN', 'TCP6'))).header;
    assert.deepEqual(tcp6.source, { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535, family: 'IPv6' });
  });

  test('malformed headers are invalid', () => {
    for (const text of [
      'PROXY TCP4 203.0.113.7 10.0.0.1 51000 44333\n', // LF without CR
      'PROXY TCP4 203.0.113.7 10.0.0.1 51000\r\n', // a field missing
      'PROXY TCP4 203.0.113.7 10.0.0.1 51000 44333 1\r\n', // a field too many
      'PROXY TCP4  203.0.113.7 10.0.0.1 51000 44333\r\n', // two spaces
      'PROXY TCP4 203.0.113.256 10.0.0.1 51000 44333\r\n', // not an IPv4 address
      'PROXY TCP4 2001:db8::7 10.0.0.1 51000 44333\r\n', // IPv6 under TCP4
      'PROXY TCP6 203.0.113.7 ::1 51000 44333\r\n', // IPv4 under TCP6
      'PROXY TCP4 203.0.113.7 10.0.0.1 65536 44333\r\n', // port out of range
      'PROXY TCP4 203.0.113.7 10.0.0.1 -1 44333\r\n', // not a port
      'PROXY UDP4 203.0.113.7 10.0.0.1 51000 44333\r\n', // unknown protocol
      'PROXY TCP4 203.0.113.7\r10.0.0.1 51000 44333\r\n', // CR inside
      'PROXY TCP4 203.0.113.7 10.0.0.1 51000 4433\t\r\n', // control byte
    ]) {
      assert.match(reason(Buffer.from(text)), /^v1: /, JSON.stringify(text));
    }
  });

  test('a byte that cannot start the header is invalid at once', () => {
    assert.equal(reason(Buffer.from('{')), 'not a PROXY protocol header');
    assert.equal(reason(Buffer.from('PROXy')), 'not a PROXY protocol header');
    assert.equal(reason(Buffer.from('{"cmd":"connect","uco":"42","nonce":1}\n')), 'not a PROXY protocol header');
  });

  test('oversize: no CRLF within 107 bytes is invalid, not incomplete', () => {
    const long = Buffer.from(`PROXY UNKNOWN ${'x'.repeat(200)}\r\n`);
    assert.equal(parseProxyHeader(long.subarray(0, PROXY_V1_MAX_BYTES - 1)).kind, 'incomplete');
    assert.match(reason(long.subarray(0, PROXY_V1_MAX_BYTES)), /no CRLF within 107 bytes/);
    assert.match(reason(long), /no CRLF within 107 bytes/);
  });
});

describe('PROXY v2 (binary)', () => {
  test('PROXY over TCP/IPv4', () => {
    const bytes = v2(1, 0x11, INET);
    const { header: h, length } = header(bytes);
    assert.equal(length, 16 + 12);
    assert.deepEqual(h, {
      version: 2,
      source: { address: '203.0.113.7', port: 51000, family: 'IPv4' },
      destination: { address: '10.0.0.1', port: 44333, family: 'IPv4' },
      tlvs: [],
    });
  });

  test('PROXY over TCP/IPv6, normalised', () => {
    const { header: h, length } = header(v2(1, 0x21, INET6));
    assert.equal(length, 16 + 36);
    assert.deepEqual(h.source, { address: '2001:db8::7', port: 51000, family: 'IPv6' });
    assert.deepEqual(h.destination, { address: '::1', port: 44333, family: 'IPv6' });
  });

  test('TLVs after the addresses, in order, as copies', () => {
    const body = [...INET, ...tlv(0x02, [...Buffer.from('example.org')]), ...tlv(0x04, []), ...tlv(0xe0, [1, 2, 3])];
    const bytes = v2(1, 0x11, body);
    const { header: h, length } = header(bytes);
    assert.equal(length, bytes.length);
    assert.deepEqual(
      h.tlvs.map((t) => [t.type, Buffer.from(t.value).toString('latin1')]),
      [[0x02, 'example.org'], [0x04, ''], [0xe0, '\x01\x02\x03']],
    );
    bytes.fill(0);
    assert.equal(Buffer.from(h.tlvs[0]?.value ?? []).toString(), 'example.org');
  });

  test('LOCAL: no address, whatever the address block says; TLVs still read', () => {
    assert.deepEqual(header(v2(0, 0x00, [])).header, { version: 2, source: undefined, destination: undefined, tlvs: [] });
    const local = header(v2(0, 0x11, [...INET, ...tlv(0x03, [0, 0, 0, 0])])).header;
    assert.equal(local.source, undefined);
    assert.equal(local.tlvs.length, 1);
  });

  test('PROXY over UNSPEC or UNIX: no IP address, the socket keeps its own', () => {
    assert.equal(header(v2(1, 0x00, [])).header.source, undefined);
    assert.equal(header(v2(1, 0x31, new Array<number>(216).fill(0x41))).header.source, undefined);
  });

  test('malformed headers are invalid', () => {
    const cases: Array<[string, Buffer]> = [
      ['version 1 in the binary form', Buffer.from([...SIGNATURE, 0x11, 0x11, 0, 12, ...INET])],
      ['unknown command', Buffer.from([...SIGNATURE, 0x22, 0x11, 0, 12, ...INET])],
      ['unknown family', Buffer.from([...SIGNATURE, 0x21, 0x41, 0, 12, ...INET])],
      ['unknown transport', Buffer.from([...SIGNATURE, 0x21, 0x13, 0, 12, ...INET])],
      ['length shorter than the addresses', v2(1, 0x21, INET)],
      ['a TLV overrunning the header', v2(1, 0x11, [...INET, 0x02, 0, 5, 1, 2])],
      ['a truncated TLV header', v2(1, 0x11, [...INET, 0x02, 0])],
    ];
    for (const [what, bytes] of cases) assert.match(reason(bytes), /^v2: /, what);
  });

  test('a broken signature is invalid as soon as it differs', () => {
    assert.equal(reason(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01])), 'not a PROXY protocol header');
  });

  test(`oversize: a declared length beyond ${PROXY_V2_MAX_BYTES} bytes is invalid from the preamble alone`, () => {
    const preamble = Buffer.from([...SIGNATURE, 0x21, 0x11, 0xff, 0xff]);
    assert.match(reason(preamble), /more than 4096/);
    const biggest = PROXY_V2_MAX_BYTES - 16;
    const fits = v2(1, 0x11, [...INET, ...tlv(0xe0, new Array<number>(biggest - 12 - 3).fill(7))]);
    assert.equal(header(fits).length, PROXY_V2_MAX_BYTES);
    const over = v2(1, 0x11, [...INET, ...tlv(0xe0, new Array<number>(biggest - 12 - 2).fill(7))]);
    assert.match(reason(over), /more than 4096/);
  });
});

describe('PROXY: chunks and trailing data', () => {
  const headers: Array<[string, Buffer]> = [
    ['v1 TCP4', Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51000 44333\r\n')],
    ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::7 ::1 51000 44333\r\n')],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n')],
    ['v2 PROXY IPv4 with TLVs', v2(1, 0x11, [...INET, ...tlv(0x02, [...Buffer.from('example.org')])])],
    ['v2 PROXY IPv6', v2(1, 0x21, INET6)],
    ['v2 LOCAL', v2(0, 0x00, [])],
  ];

  for (const [name, bytes] of headers) {
    test(`${name}: every strict prefix is incomplete; byte by byte gives the whole header`, () => {
      for (let n = 0; n < bytes.length; n++) assert.equal(parseProxyHeader(bytes.subarray(0, n)).kind, 'incomplete', `prefix of ${n}`);
      const whole = header(bytes);
      const { result, rest } = feed([...bytes, ...PAYLOAD].map((b) => Uint8Array.of(b)));
      assert.deepEqual(result, { kind: 'header', ...whole });
      // Byte by byte, the answer comes with the header's last byte: nothing after it is consumed.
      assert.equal(rest.length, 0);
    });

    test(`${name}: the bytes after the header in the same chunk are the client's, untouched`, () => {
      const { result, rest } = feed([Buffer.concat([bytes, PAYLOAD])]);
      assert.equal(result.kind, 'header');
      assert.deepEqual(rest, PAYLOAD);
    });
  }

  test('property: any split of header + payload gives the same header and the same payload', () => {
    const anyHeader = fc.constantFrom(...headers.map(([, bytes]) => bytes));
    fc.assert(
      fc.property(anyHeader, fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(), { maxLength: 12 }), (bytes, payload, cuts) => {
        const whole = Buffer.concat([bytes, payload]);
        const expected = header(bytes);
        let seen = Buffer.alloc(0);
        let got: { result: ProxyParseResult; at: number } | undefined;
        for (const chunk of split(whole, cuts)) {
          seen = Buffer.concat([seen, chunk]);
          const result = parseProxyHeader(seen);
          if (result.kind !== 'incomplete') {
            got = { result, at: seen.length };
            break;
          }
        }
        assert.ok(got !== undefined);
        assert.deepEqual(got.result, { kind: 'header', ...expected });
        // What followed the header in the chunks read so far, plus the chunks not yet read, is the payload.
        assert.deepEqual(Buffer.concat([seen.subarray(expected.length), whole.subarray(got.at)]), Buffer.from(payload));
      }),
      { numRuns: 2_000 },
    );
  });

  test('property: random bytes never throw, and an answer never changes once given', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (random, v2Start) => {
        const bytes = v2Start ? Buffer.concat([Buffer.from(SIGNATURE), random]) : Buffer.concat([Buffer.from('PROXY '), random]);
        let first: ProxyParseResult | undefined;
        for (let n = 0; n <= bytes.length; n++) {
          const result = parseProxyHeader(bytes.subarray(0, n));
          if (first === undefined) {
            if (result.kind !== 'incomplete') first = result;
          } else {
            assert.equal(result.kind, first.kind);
            if (first.kind === 'header') assert.equal((result as typeof first).length, first.length);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('formatProxyHeaderV1 (the v1 writer)', () => {
  test('TCP4, TCP6 and UNKNOWN, byte for byte', () => {
    const v4 = { source: { address: '203.0.113.7', port: 51000, family: 'IPv4' }, destination: { address: '10.0.0.1', port: 44333, family: 'IPv4' } } as const;
    assert.equal(formatProxyHeaderV1(v4), 'PROXY TCP4 203.0.113.7 10.0.0.1 51000 44333\r\n');
    const v6 = { source: { address: '2001:db8::7', port: 0, family: 'IPv6' }, destination: { address: '::1', port: 65535, family: 'IPv6' } } as const;
    assert.equal(formatProxyHeaderV1(v6), 'PROXY TCP6 2001:db8::7 ::1 0 65535\r\n');
    assert.equal(formatProxyHeaderV1({ source: undefined, destination: undefined }), 'PROXY UNKNOWN\r\n');
  });

  test('bad endpoints are programmer errors: ERR_INVALID_ARGUMENT', () => {
    const a4: ProxyEndpoint = { address: '127.0.0.2', port: 1, family: 'IPv4' };
    const a6: ProxyEndpoint = { address: '::1', port: 1, family: 'IPv6' };
    for (const endpoints of [
      { source: a4, destination: undefined },
      { source: undefined, destination: a4 },
      { source: a4, destination: a6 },
      { source: { ...a4, address: '::1' }, destination: a4 },
      { source: { ...a6, address: '127.0.0.1' }, destination: a6 },
      { source: { ...a4, address: '127.0.0.1\r\n' }, destination: a4 },
      { source: { ...a4, port: 65_536 }, destination: a4 },
      { source: a4, destination: { ...a4, port: -1 } },
      { source: a4, destination: { ...a4, port: 1.5 } },
    ]) {
      assert.throws(() => formatProxyHeaderV1(endpoints), (error: unknown) => error instanceof RouletteError && error.code === 'ERR_INVALID_ARGUMENT', JSON.stringify(endpoints));
    }
  });

  test('property: the parser reads back what the writer wrote (same endpoints, IPv6 normalised), within 107 bytes, and the bytes after it untouched', () => {
    const port = fc.integer({ min: 0, max: 65_535 });
    const endpoint = (family: 'IPv4' | 'IPv6'): fc.Arbitrary<ProxyEndpoint> =>
      fc.record({ address: family === 'IPv4' ? fc.ipV4() : fc.ipV6(), port, family: fc.constant(family) });
    const endpoints = fc.oneof(
      fc.record({ source: endpoint('IPv4'), destination: endpoint('IPv4') }),
      fc.record({ source: endpoint('IPv6'), destination: endpoint('IPv6') }),
      fc.constant({ source: undefined, destination: undefined }),
    );
    /** The endpoint as the parser gives it: a plain object, IPv6 in its one spelling. */
    const normal = (e: ProxyEndpoint | undefined): ProxyEndpoint | undefined =>
      e === undefined || e.family === 'IPv4' ? (e && { ...e }) : { ...e, address: new net.SocketAddress({ address: e.address, family: 'ipv6' }).address };
    fc.assert(
      fc.property(endpoints, fc.uint8Array({ maxLength: 32 }), ({ source, destination }, payload) => {
        const text = formatProxyHeaderV1({ source, destination });
        assert.ok(text.length <= PROXY_V1_MAX_BYTES, text);
        const { header: h, length } = header(Buffer.concat([Buffer.from(text, 'latin1'), payload]));
        assert.equal(length, text.length);
        assert.deepEqual(h, { version: 1, source: normal(source), destination: normal(destination), tlvs: [] });
      }),
      { numRuns: 2_000 },
    );
  });
});
