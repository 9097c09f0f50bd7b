import { JwtService } from '@nestjs/jwt';
import jsonwebtoken from 'jsonwebtoken';
import { AuthSettings } from '../../config/configuration';
import { AccessTokenVerifier, VERIFIED_TOKEN_CACHE_SIZE } from './access-token.verifier';
import { ApiKeysService } from './api-keys.service';
import { jwtModuleOptions } from './jwt-options';
import { UsersService } from './users.service';

const AUTH: AuthSettings = {
  jwtSecret: 'k'.repeat(48),
  jwtSecretGenerated: false,
  jwtExpiresInSeconds: 60,
  jwtIssuer: 'whatsapp-service',
  jwtAudience: 'whatsapp-api',
  adminEmail: 'a@example.com',
};
const CLAIMS = { sub: '7b1f0c52-2f6e-4f7a-9d55-1b1f0c522f6e', email: 'a@example.com', role: 'admin' };

describe('AccessTokenVerifier.claims', () => {
  let jwt: JwtService;
  let verifier: AccessTokenVerifier;
  let verifications: jest.SpyInstance;

  beforeEach(() => {
    jwt = new JwtService(jwtModuleOptions(AUTH));
    // claims() needs neither: the user check and API keys are other methods.
    verifier = new AccessTokenVerifier(jwt, {} as UsersService, {} as ApiKeysService);
    verifications = jest.spyOn(jwt, 'verifyAsync');
  });
  afterEach(() => jest.restoreAllMocks());

  it('verifies a token once and answers the same claims from memory until it expires', async () => {
    const token = await jwt.signAsync(CLAIMS);
    const first = await verifier.claims(token);
    expect(first).toMatchObject(CLAIMS);
    expect(await verifier.claims(token)).toEqual(first);
    expect(await verifier.claims(token)).toEqual(first);
    expect(verifications).toHaveBeenCalledTimes(1);

    // At its exp second the remembered token is expired too, as jsonwebtoken rules.
    const exp = (first as unknown as { exp: number }).exp;
    jest.spyOn(Date, 'now').mockReturnValue(exp * 1000);
    await expect(verifier.claims(token)).rejects.toThrow('jwt expired');
    await expect(verifier.claims(token)).rejects.toMatchObject({ name: 'TokenExpiredError' });
  });

  it('does not remember a token that failed: a forged one is refused every time', async () => {
    const token = await jwt.signAsync(CLAIMS);
    const forged = `${token.slice(0, -4)}AAAA`;
    await expect(verifier.claims(forged)).rejects.toThrow('invalid signature');
    await expect(verifier.claims(forged)).rejects.toThrow('invalid signature');
    expect(verifications).toHaveBeenCalledTimes(2);
    // The genuine token is unaffected.
    expect(await verifier.claims(token)).toMatchObject(CLAIMS);
  });

  it('refuses a token signed with the key but without an expiry, and does not remember it', async () => {
    const eternal = jsonwebtoken.sign(CLAIMS, AUTH.jwtSecret, { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience });
    await expect(verifier.claims(eternal)).rejects.toThrow('jwt has no expiry');
    await expect(verifier.claims(eternal)).rejects.toThrow('jwt has no expiry');
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it('holds at most VERIFIED_TOKEN_CACHE_SIZE tokens, forgetting the oldest first', async () => {
    const tokens = await Promise.all(Array.from({ length: VERIFIED_TOKEN_CACHE_SIZE + 1 }, (_, i) => jwt.signAsync({ ...CLAIMS, email: `u${i}@example.com` })));
    for (const token of tokens) await verifier.claims(token);
    expect(verifications).toHaveBeenCalledTimes(VERIFIED_TOKEN_CACHE_SIZE + 1);
    await verifier.claims(tokens[tokens.length - 1]);
    expect(verifications).toHaveBeenCalledTimes(VERIFIED_TOKEN_CACHE_SIZE + 1);
    // The first was pushed out by the last: it is verified again (and still good).
    expect(await verifier.claims(tokens[0])).toMatchObject({ email: 'u0@example.com' });
    expect(verifications).toHaveBeenCalledTimes(VERIFIED_TOKEN_CACHE_SIZE + 2);
  });
});
