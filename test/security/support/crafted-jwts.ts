import { createHmac, createSign, generateKeyPairSync, randomBytes, randomUUID, sign as edSign } from 'node:crypto';

export interface CraftedToken {
  kind: string;
  token: string;
}

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export interface TokenClaims {
  sub: string;
  iss: string;
  aud: string;
}

/**
 * Tokens that must authenticate nobody: unsigned, signed with the wrong key or algorithm,
 * carrying the wrong or no issuer, audience, subject or expiry, not valid yet, pointing at keys
 * of the attacker's (kid, jku, jwk, x5u), huge, or not JWTs at all.
 */
export function craftTokens(secret: string, good: TokenClaims, otherUserId: string): CraftedToken[] {
  const now = Math.floor(Date.now() / 1000);
  const base = { sub: good.sub, iss: good.iss, aud: good.aud, iat: now, exp: now + 3600, email: 'x@example.com', role: 'admin' };
  const hmac = (alg: 'HS256' | 'HS384' | 'HS512', key: string | Buffer, header: Record<string, unknown>, claims: Record<string, unknown>) => {
    const unsigned = `${b64({ alg, typ: 'JWT', ...header })}.${b64(claims)}`;
    return `${unsigned}.${createHmac(`sha${alg.slice(2)}`, key).update(unsigned).digest('base64url')}`;
  };
  const ours = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => hmac('HS256', secret, header, claims);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const signWith = (alg: string, header: Record<string, unknown>, claims: Record<string, unknown>) => {
    const unsigned = `${b64({ alg, typ: 'JWT', ...header })}.${b64(claims)}`;
    let sig: Buffer;
    if (alg.startsWith('RS') || alg.startsWith('PS')) {
      sig = createSign(`sha${alg.slice(2)}`).update(unsigned).sign(alg.startsWith('PS') ? { key: rsa.privateKey, padding: 6 } : rsa.privateKey);
    } else if (alg === 'EdDSA') {
      sig = edSign(null, Buffer.from(unsigned), ed.privateKey);
    } else {
      sig = createSign('sha256').update(unsigned).sign({ key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    }
    return `${unsigned}.${sig.toString('base64url')}`;
  };

  const out: CraftedToken[] = [];
  const add = (kind: string, token: string) => out.push({ kind, token });
  const claimVariants: [string, Record<string, unknown>][] = [
    ['valid claims', base],
    ['sub of another (nonexistent) user', { ...base, sub: randomUUID() }],
    ['sub of the other sender, role admin', { ...base, sub: otherUserId, role: 'admin' }],
    ['sub of the other sender as itself', { ...base, sub: otherUserId, role: 'sender' }],
    ['valid claims, a year to live', { ...base, exp: now + 365 * 24 * 3600 }],
    ['valid claims, issued in the future', { ...base, iat: now + 3600 }],
    ['role superadmin', { ...base, role: 'superadmin' }],
    ['role as a list', { ...base, role: ['admin', 'sender'] }],
  ];

  for (const [what, claims] of claimVariants) {
    for (const alg of ['none', 'None', 'NONE', 'nOnE', '', 'null']) {
      add(`alg "${alg}", no signature (${what})`, `${b64({ alg, typ: 'JWT' })}.${b64(claims)}.`);
      add(`alg "${alg}", signature kept (${what})`, `${b64({ alg, typ: 'JWT' })}.${b64(claims)}.${ours(claims).split('.')[2]}`);
      add(`alg "${alg}", two segments (${what})`, `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`);
    }
    add(`no alg header (${what})`, `${b64({ typ: 'JWT' })}.${b64(claims)}.${ours(claims).split('.')[2]}`);
    for (let i = 0; i < 5; i++) add(`HS256 with a wrong secret (${what})`, hmac('HS256', randomBytes(32), {}, claims));
    add(`HS256 with an empty secret (${what})`, hmac('HS256', '', {}, claims));
    add(`HS256 with the secret's first half (${what})`, hmac('HS256', secret.slice(0, secret.length / 2), {}, claims));
    add(`HS384 with our secret (${what})`, hmac('HS384', secret, {}, claims));
    add(`HS512 with our secret (${what})`, hmac('HS512', secret, {}, claims));
    add(`HS256 keyed with an RSA public key, alg confusion (${what})`, hmac('HS256', rsaPem, {}, claims));
    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA']) add(`${alg} with the attacker's key (${what})`, signWith(alg, {}, claims));
    add(`RS256 with an embedded jwk (${what})`, signWith('RS256', { jwk: rsa.publicKey.export({ format: 'jwk' }) }, claims));
    add(`RS256 with a jku of the attacker (${what})`, signWith('RS256', { jku: 'https://attacker.example/jwks.json', kid: 'k1' }, claims));
    add(`RS256 with an x5u of the attacker (${what})`, signWith('RS256', { x5u: 'https://attacker.example/cert.pem' }, claims));
    add(`HS256 with kid path traversal, empty key (${what})`, hmac('HS256', '', { kid: '../../../../dev/null' }, claims));
    add(`HS256 with kid SQL injection (${what})`, hmac('HS256', 'x', { kid: "x' UNION SELECT 'x'--" }, claims));
    add(`HS256 with a jku and a wrong key (${what})`, hmac('HS256', randomBytes(16), { jku: 'https://attacker.example/jwks.json' }, claims));
    add(`signature of another token (${what})`, `${ours(claims).split('.').slice(0, 2).join('.')}.${ours({ ...claims, iat: 1 }).split('.')[2]}`);
    // Signed with other claims than those it carries (a role differing from the variant's own).
    const signed = ours({ ...claims, role: claims.role === 'sender' ? 'admin' : 'sender' });
    add(`claims changed after signing (${what})`, `${signed.split('.')[0]}.${b64(claims)}.${signed.split('.')[2]}`);
  }

  // Signed with our secret and algorithm, but with claims that must be refused.
  const { sub: _sub, ...noSub } = base;
  const { iss: _iss, ...noIss } = base;
  const { aud: _aud, ...noAud } = base;
  const { exp: _exp, ...noExp } = base;
  const claimFaults: [string, Record<string, unknown>][] = [
    ['no sub', noSub],
    ['sub not a UUID', { ...base, sub: 'admin' }],
    ['sub a number', { ...base, sub: 1 }],
    ['sub SQL injection', { ...base, sub: "' OR '1'='1" }],
    ['sub of a user that does not exist', { ...base, sub: randomUUID() }],
    ['no iss', noIss],
    ['wrong iss', { ...base, iss: 'someone-else' }],
    ['iss as a list', { ...base, iss: [good.iss, 'x'] }],
    ['no aud', noAud],
    ['wrong aud', { ...base, aud: 'another-api' }],
    ['aud list without ours', { ...base, aud: ['a', 'b'] }],
    ['no exp', noExp],
    ['exp in the past', { ...base, exp: now - 10 }],
    ['exp as a string', { ...base, exp: String(now + 3600) }],
    ['exp far in the past', { ...base, exp: 1 }],
    ['nbf an hour ahead', { ...base, nbf: now + 3600 }],
    ['nbf a minute ahead', { ...base, nbf: now + 60 }],
  ];
  for (const [what, claims] of claimFaults) {
    add(`our key, ${what}`, ours(claims));
    add(`our key, ${what}, role admin`, ours({ ...claims, role: 'admin' }));
    add(`our key and a kid header, ${what}`, ours(claims, { kid: 'k1' }));
    add(`our key, typ "at+jwt", ${what}`, ours(claims, { typ: 'at+jwt' }));
  }

  // Huge and malformed.
  add('huge token (64 KB of claims)', ours({ ...base, pad: 'x'.repeat(64 * 1024) }));
  add('huge token (8 KB of claims, under the header limit)', hmac('HS256', randomBytes(8), {}, { ...base, pad: 'x'.repeat(8 * 1024) }));
  add('huge garbage', 'a'.repeat(12_000));
  for (const junk of [
    '', '.', '..', '...', 'a.b', 'a.b.c', 'a.b.c.d', 'eyJ', 'eyJhbGciOiJIUzI1NiJ9', 'null', 'undefined', '[object Object]',
    `${b64('not json')}.${b64(base)}.sig`, `${b64({ alg: 'HS256' })}.${b64('not json')}.sig`, `${b64({ alg: 'HS256' })}.${b64([1, 2])}.sig`,
    `${b64({ alg: 'HS256' })}.${b64(null)}.sig`, '%00', '\u0000', 'Bearer', 'Basic YWRtaW46YWRtaW4=', "' OR 1=1--", '${jndi:ldap://x}',
    ours(base).replace(/\./g, ' '), ours(base).toUpperCase(), ours(base) + '.', '.' + ours(base), ours(base).slice(0, -1),
    ours(base).split('.').reverse().join('.'), Buffer.from(ours(base)).toString('base64'),
  ]) {
    add(`malformed: ${JSON.stringify(junk).slice(0, 40)}`, junk);
  }
  for (let i = 0; i < 100; i++) add('random bytes', randomBytes(10 + i * 7).toString(i % 2 ? 'base64url' : 'hex'));
  return out;
}
