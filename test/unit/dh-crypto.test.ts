/**
 * DH-EXERCISE.md cryptography against the JDK: fixtures from
 * tools/dh-fixtures/GenFixtures.java (test/fixtures/dh/*.json).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, generatePrimeSync, getDiffieHellman, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  checkDhverif,
  checkGroup,
  checkPublicValue,
  connectionIdOf,
  DhKeyPair,
  dhverif,
  encodeDhPublicKey,
  jdkGroup,
  parseDhPrivateKey,
  parseDhPublicKey,
  roleOf,
  toBigInt,
  toBytes,
  type DhGroupBits,
} from '../../src/testing/dh/index.js';
import { DER_TAG, DerReader } from '../../src/testing/dh/der.js';

interface JavaParty {
  uco: string;
  public: string;
  private: string;
  y: string;
}

interface JavaFixture {
  bits: DhGroupBits;
  p: string;
  g: string;
  l: number;
  connectionId: string;
  initiator: JavaParty;
  responder: JavaParty;
  secret: string;
  leadingZero: boolean;
  dhverif: string;
}

const FIXTURES = ['jdk-1024', 'jdk-2048', 'jdk-3072', 'jdk-1024-leading-zero', 'jdk-2048-leading-zero'];

function fixture(name: string): JavaFixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/dh/${name}.json`, import.meta.url), 'utf8')) as JavaFixture;
}

function ok<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!result.ok) assert.fail(result.reason);
  return result.value;
}

function reason(result: { ok: true } | { ok: false; reason: string }): string {
  assert.equal(result.ok, false, 'expected a failure');
  return result.ok ? '' : result.reason;
}

describe('DH-EXERCISE dhpub: JDK encoding', () => {
  for (const name of FIXTURES) {
    const fx = fixture(name);
    it(`${name}: parses Java's getEncoded() and re-encodes it byte for byte`, () => {
      for (const party of [fx.initiator, fx.responder]) {
        const key = ok(parseDhPublicKey(party.public));
        assert.equal(key.p.toString(16), fx.p);
        assert.equal(key.g.toString(16), fx.g);
        assert.equal(key.l, fx.l);
        assert.equal(key.y.toString(16), party.y);
        assert.equal(encodeDhPublicKey(key).toString('base64'), party.public);
        assert.ok(party.public.startsWith('MII'));
      }
    });
  }

  for (const bits of [1024, 2048, 3072] as const) {
    it(`jdkGroup(${bits}) is the JDK's default ${bits}-bit group`, () => {
      const fx = fixture(`jdk-${bits}`);
      const group = jdkGroup(bits);
      assert.equal(group.p.toString(16), fx.p);
      assert.equal(group.g.toString(16), fx.g);
      assert.equal(group.l, fx.l);
    });

    it(`our ${bits}-bit keys have the JDK layout (OID, p, g, l) and start with MII`, () => {
      const fx = fixture(`jdk-${bits}`);
      const ours = DhKeyPair.generate(jdkGroup(bits));
      assert.ok(ours.dhpub.startsWith('MII'));
      // The AlgorithmIdentifier (OID, p, g, l) is byte for byte Java's.
      const algorithm = (der: Buffer): Buffer => {
        const spki = new DerReader(der, 'test').expect(DER_TAG.SEQUENCE, 'spki');
        const alg = new DerReader(spki.content, 'test').expect(DER_TAG.SEQUENCE, 'alg');
        return spki.content.subarray(alg.offset, alg.content.byteOffset - spki.content.byteOffset + alg.content.length);
      };
      assert.deepEqual(algorithm(ours.encoded), algorithm(Buffer.from(fx.initiator.public, 'base64')));
    });
  }
});

describe('DH-EXERCISE shared secret and dhverif: JDK generateSecret()', () => {
  for (const name of FIXTURES) {
    const fx = fixture(name);
    it(`${name}: both sides' secrets equal the JDK's, padded to |p|; dhverif matches`, () => {
      const initiatorPub = ok(parseDhPublicKey(fx.initiator.public));
      const responderPub = ok(parseDhPublicKey(fx.responder.public));
      const initiatorPriv = ok(parseDhPrivateKey(Buffer.from(fx.initiator.private, 'base64')));
      const responderPriv = ok(parseDhPrivateKey(Buffer.from(fx.responder.private, 'base64')));
      const initiator = DhKeyPair.fromPrivate(initiatorPriv, initiatorPriv.x);
      const responder = DhKeyPair.fromPrivate(responderPriv, responderPriv.x);
      assert.equal(initiator.dhpub, fx.initiator.public);
      assert.equal(responder.dhpub, fx.responder.public);
      const a = initiator.secretWith(responderPub.y);
      const b = responder.secretWith(initiatorPub.y);
      assert.equal(a.toString('hex'), fx.secret);
      assert.equal(b.toString('hex'), fx.secret);
      assert.equal(a.length, fx.bits / 8);
      assert.equal(fx.leadingZero, a[0] === 0);
      assert.equal(connectionIdOf(fx.responder.uco, fx.initiator.uco), fx.connectionId);
      assert.equal(dhverif(a, fx.connectionId), fx.dhverif);
      assert.deepEqual(checkDhverif(fx.dhverif, a, fx.connectionId), { ok: true, value: true });
    });
  }

  it('the leading-zero fixtures: a stripped secret gives another HMAC, and is diagnosed', () => {
    for (const name of ['jdk-1024-leading-zero', 'jdk-2048-leading-zero']) {
      const fx = fixture(name);
      const secret = Buffer.from(fx.secret, 'hex');
      assert.equal(secret[0], 0);
      const stripped = dhverif(toBytes(BigInt(`0x${fx.secret}`)), fx.connectionId);
      assert.notEqual(stripped, fx.dhverif);
      assert.equal(
        reason(checkDhverif(stripped, secret, fx.connectionId)),
        'dhverif does not match: secret probably stripped of a leading zero',
      );
    }
  });
});

describe('DH-EXERCISE roles and connection id', () => {
  it('the smaller uco in UTF-16 code-unit order initiates', () => {
    assert.equal(roleOf('410001', '410002'), 'initiator');
    assert.equal(roleOf('410002', '410001'), 'responder');
    assert.equal(roleOf('Z9', 'a1'), 'initiator'); // 'Z' (0x5a) < 'a' (0x61), like String.compareTo
    assert.equal(roleOf('100', '99'), 'initiator'); // strings, not numbers
    assert.equal(connectionIdOf('99', '100'), '100|99');
  });
});

describe('dhpub parsing: precise reasons', () => {
  const good = DhKeyPair.generate(jdkGroup(1024));

  it('not a string, not base64', () => {
    assert.equal(reason(parseDhPublicKey(42)), 'dhpub is not a string');
    assert.equal(reason(parseDhPublicKey('')), 'dhpub is not base64');
    assert.equal(reason(parseDhPublicKey('MII*')), 'dhpub is not base64');
    assert.equal(reason(parseDhPublicKey(good.dhpub.replace(/=+$/, ''))), 'dhpub is not base64');
    assert.equal(reason(parseDhPublicKey(`${good.dhpub.slice(0, 64)}\n${good.dhpub.slice(64)}`)), 'dhpub is not base64');
  });

  it('another algorithm: the OID is named', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(
      reason(parseDhPublicKey(ec.toString('base64'))),
      'dhpub is not a DH SubjectPublicKeyInfo (OID 1.2.840.113549.1.3.1): its algorithm is 1.2.840.10045.2.1 (id-ecPublicKey)',
    );
  });

  it('truncated, trailing bytes, BER lengths', () => {
    const der = good.encoded;
    assert.match(reason(parseDhPublicKey(der.subarray(0, 100).toString('base64'))), /^dhpub is not DER: .*truncated/);
    assert.match(
      reason(parseDhPublicKey(Buffer.concat([der, Buffer.from([0])]).toString('base64'))),
      /^dhpub is not DER: .*trailing bytes/,
    );
    assert.match(reason(parseDhPublicKey(Buffer.from([0x30, 0x80, 0, 0]).toString('base64'))), /indefinite length/);
    assert.equal(
      reason(parseDhPublicKey(Buffer.from([0x02, 0x01, 0x05]).toString('base64'))),
      'dhpub is not DER: dhpub SubjectPublicKeyInfo: the outer structure should be SEQUENCE, found INTEGER',
    );
  });

  it('node\'s own DH SPKI (no l) is accepted', () => {
    // @types/node has no overload for 'dh' key pairs.
    const generate = generateKeyPairSync as unknown as (type: 'dh', options: { group: string }) => { publicKey: KeyObject };
    const node = generate('dh', { group: 'modp14' }).publicKey.export({ type: 'spki', format: 'der' });
    const key = ok(parseDhPublicKey(node.toString('base64')));
    assert.equal(key.p, jdkGroup(2048).p);
    assert.equal(key.l, undefined);
    assert.deepEqual(encodeDhPublicKey(key), node);
  });

  it('key range 1 < y < p−1', () => {
    const { p } = jdkGroup(1024);
    assert.match(checkPublicValue(1n, p) ?? '', /out of range: y = 1/);
    assert.match(checkPublicValue(0n, p) ?? '', /out of range/);
    assert.match(checkPublicValue(p - 1n, p) ?? '', /out of range: y = p−1/);
    assert.match(checkPublicValue(p, p) ?? '', /out of range: y ≥ p/);
    assert.equal(checkPublicValue(2n, p), undefined);
  });

  it('group plausibility: size, g, primality', () => {
    const { p } = jdkGroup(1024);
    assert.equal(checkGroup({ p, g: 2n }), undefined);
    assert.match(checkGroup({ p: 23n, g: 5n }) ?? '', /5-bit p, outside 512\.\.8192/);
    assert.match(checkGroup({ p, g: 1n }) ?? '', /g out of range/);
    assert.match(checkGroup({ p: p - 2n, g: 2n }) ?? '', /not prime/);
  });

  it('group plausibility: l must be 2 <= l < bitLength(p) (0 or absent: none)', () => {
    const { p } = jdkGroup(1024);
    assert.equal(checkGroup({ p, g: 2n, l: 1 }), 'dhpub group has l = 1, outside 2..1023');
    assert.equal(checkGroup({ p, g: 2n, l: 1024 }), 'dhpub group has l = 1024, outside 2..1023');
    assert.equal(checkGroup({ p, g: 2n, l: 8192 }, 'dh1 dhpub'), 'dh1 dhpub group has l = 8192, outside 2..1023');
    for (const l of [0, 2, 160, 1023, undefined]) assert.equal(checkGroup({ p, g: 2n, l }), undefined, `l = ${l}`);
  });

  it('groups above 2048 bits must be well-known (no multi-second primality test)', () => {
    // A random odd 3072-bit number: refused by name, whether prime or not.
    const p = toBigInt(randomBytes(384)) | (1n << 3071n) | 1n;
    const expected = 'dhpub group of 3072 bits is not a known JDK group; groups above 2048 bits must be one of the JDK defaults (RFC 3526 MODP 3072, 4096, 6144, 8192 bits)';
    assert.equal(checkGroup({ p, g: 2n }), expected);
    assert.equal(checkGroup({ p: jdkGroup(3072).p + 2n, g: 2n }), expected);
    assert.equal(checkGroup(jdkGroup(3072)), undefined);
    for (const name of ['modp16', 'modp17', 'modp18']) {
      assert.equal(checkGroup({ p: toBigInt(getDiffieHellman(name).getPrime()), g: 2n }), undefined, name);
    }
    // Up to 2048 bits any safe-enough prime is still tested, not just the known ones.
    assert.equal(checkGroup({ p: generatePrimeSync(1024, { bigint: true }), g: 2n }), undefined);
    assert.equal(checkGroup({ p: jdkGroup(2048).p - 2n, g: 2n }), "dhpub group's p is not prime");
  });
});

describe('dhverif check: diagnosed mistakes', () => {
  const fx = fixture('jdk-2048');
  const secret = Buffer.from(fx.secret, 'hex');
  const [a = '', b = ''] = fx.connectionId.split('|');

  it('roles swapped: the HMAC over the reversed connection id', () => {
    assert.equal(
      reason(checkDhverif(dhverif(secret, `${b}|${a}`), secret, fx.connectionId)),
      'dhverif does not match: roles probably swapped',
    );
  });

  it('sign byte: BigInteger.toByteArray() of a secret whose high bit is set', () => {
    const withSign = Buffer.concat([Buffer.alloc(1), secret]);
    if ((secret[0] as number) < 0x80) return; // this fixture's secret must have its high bit set
    assert.equal(
      reason(checkDhverif(dhverif(withSign, fx.connectionId), secret, fx.connectionId)),
      'dhverif does not match: secret probably taken from BigInteger.toByteArray() (sign byte)',
    );
  });

  it('missing, not a string, not base64, plain mismatch', () => {
    assert.equal(reason(checkDhverif(undefined, secret, fx.connectionId)), 'dhc carried no dhverif');
    assert.equal(reason(checkDhverif(7, secret, fx.connectionId)), 'dhverif is not a string');
    assert.equal(reason(checkDhverif('no!', secret, fx.connectionId)), 'dhverif is not base64');
    assert.equal(reason(checkDhverif(Buffer.alloc(20).toString('base64'), secret, fx.connectionId)), 'dhverif does not match');
    assert.match(reason(checkDhverif(Buffer.alloc(8).toString('base64'), secret, fx.connectionId)), /8 bytes, not the 20/);
  });
});
