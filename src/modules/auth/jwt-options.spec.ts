import { JwtService } from '@nestjs/jwt';
import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AuthSettings } from '../../config/configuration';
import { jwtModuleOptions } from './jwt-options';

const AUTH: AuthSettings = {
  jwtSecret: 's'.repeat(48),
  jwtSecretGenerated: false,
  jwtExpiresInSeconds: 3600,
  jwtIssuer: 'whatsapp-service',
  jwtAudience: 'whatsapp-api',
  adminEmail: 'a@example.com',
};
const service = new JwtService(jwtModuleOptions(AUTH));
const claims = { sub: '7b1f0c52-2f6e-4f7a-9d55-1b1f0c522f6e', email: 'a@example.com', role: 'admin' };

function b64url(obj: object): string {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

describe('JWT options', () => {
  it('signs HS256 with exp, iss and aud, and verifies its own tokens', async () => {
    const token = await service.signAsync(claims);
    const [header] = token.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const payload = await service.verifyAsync(token);
    expect(payload).toMatchObject({ ...claims, iss: 'whatsapp-service', aud: 'whatsapp-api' });
    expect(payload.exp - payload.iat).toBe(3600);
  });

  it('refuses an expired token', async () => {
    const token = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, AUTH.jwtSecret, { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience });
    await expect(service.verifyAsync(token)).rejects.toThrow(/jwt expired/);
  });

  it('refuses another issuer or audience', async () => {
    const wrongIss = jwt.sign(claims, AUTH.jwtSecret, { algorithm: 'HS256', issuer: 'someone-else', audience: AUTH.jwtAudience, expiresIn: 60 });
    const wrongAud = jwt.sign(claims, AUTH.jwtSecret, { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: 'other-api', expiresIn: 60 });
    await expect(service.verifyAsync(wrongIss)).rejects.toThrow(/jwt issuer invalid/);
    await expect(service.verifyAsync(wrongAud)).rejects.toThrow(/jwt audience invalid/);
  });

  it('refuses a token signed with another secret', async () => {
    const forged = jwt.sign(claims, 'x'.repeat(48), { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience, expiresIn: 60 });
    await expect(service.verifyAsync(forged)).rejects.toThrow(/invalid signature/);
  });

  it('refuses other algorithms, even with the right secret', async () => {
    const hs512 = jwt.sign(claims, AUTH.jwtSecret, { algorithm: 'HS512', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience, expiresIn: 60 });
    await expect(service.verifyAsync(hs512)).rejects.toThrow(/invalid algorithm/);
    const body = b64url({ ...claims, iss: AUTH.jwtIssuer, aud: AUTH.jwtAudience, exp: Math.floor(Date.now() / 1000) + 60 });
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${body}.`;
    await expect(service.verifyAsync(none)).rejects.toThrow();
    // alg says HS384 but the MAC is HS256: still refused.
    const head = b64url({ alg: 'HS384', typ: 'JWT' });
    const mac = createHmac('sha256', AUTH.jwtSecret).update(`${head}.${body}`).digest('base64url');
    await expect(service.verifyAsync(`${head}.${body}.${mac}`)).rejects.toThrow();
  });
});
