import { JwtModule, JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import { ThrottlerModule } from '@nestjs/throttler';
import { getRepositoryToken } from '@nestjs/typeorm';
import jwt from 'jsonwebtoken';
import { AuthSettings } from '../../../config/configuration';
import { AccessTokenVerifier } from '../access-token.verifier';
import { generateApiKey } from '../credentials';
import { ApiKeysService } from '../api-keys.service';
import { ApiKey } from '../entities/api-key.entity';
import { User } from '../entities/user.entity';
import { jwtModuleOptions } from '../jwt-options';
import { UsersService } from '../users.service';
import { UserThrottlerGuard } from './user-throttler.guard';

const AUTH: AuthSettings = {
  jwtSecret: 't'.repeat(48),
  jwtSecretGenerated: false,
  jwtExpiresInSeconds: 3600,
  jwtIssuer: 'whatsapp-service',
  jwtAudience: 'whatsapp-api',
  adminEmail: 'admin@example.com',
};
const SUB = '3c9d2b1a-0f4e-4d6c-9b8a-7e6f5d4c3b2a';
const KEY_ID = '5e0f7a2b-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const GOOD_KEY = generateApiKey();
const REVOKED_KEY = generateApiKey();
const storedKeys = [
  { id: KEY_ID, role: 'sender', name: 'crm', createdBy: SUB, secretHash: GOOD_KEY.secretHash, revokedAt: null, expiresAt: null, lastUsedAt: new Date() },
  { id: 'b1f9c3e4-0000-4000-8000-000000000001', role: 'sender', name: 'old', createdBy: SUB, secretHash: REVOKED_KEY.secretHash, revokedAt: new Date(), expiresAt: null, lastUsedAt: null },
];

/** The rate limit's key for one request, as the guard computes it. */
class TrackerProbe extends UserThrottlerGuard {
  trackerFor(req: Record<string, unknown>): Promise<string> {
    return this.getTracker(req);
  }
}

describe('UserThrottlerGuard', () => {
  let guard: TrackerProbe;
  let tokens: JwtService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ThrottlerModule.forRoot({ throttlers: [{ ttl: 60_000, limit: 10 }] }), JwtModule.register(jwtModuleOptions(AUTH))],
      providers: [
        TrackerProbe,
        AccessTokenVerifier,
        UsersService,
        ApiKeysService,
        // The tracker reads the token only; a lookup would fail here.
        { provide: getRepositoryToken(User), useValue: {} },
        { provide: getRepositoryToken(ApiKey), useValue: { findOneBy: async (where: { secretHash: string }) => storedKeys.find((k) => k.secretHash === where.secretHash) ?? null } },
      ],
    }).compile();
    guard = moduleRef.get(TrackerProbe);
    tokens = moduleRef.get(JwtService);
  });

  const request = (authorization?: string, apiKey?: string) => ({
    ip: '203.0.113.7',
    headers: { ...(authorization ? { authorization } : {}), ...(apiKey !== undefined ? { 'x-api-key': apiKey } : {}) },
  });

  it('counts a valid API key against the key, in either header', async () => {
    expect(await guard.trackerFor(request(`Bearer ${GOOD_KEY.key}`))).toBe(`key:${KEY_ID}`);
    expect(await guard.trackerFor(request(undefined, GOOD_KEY.key))).toBe(`key:${KEY_ID}`);
  });

  it('counts an unknown, malformed or revoked API key against the address', async () => {
    for (const key of [generateApiKey().key, 'wsk_nonsense', REVOKED_KEY.key, '']) {
      expect(await guard.trackerFor(request(undefined, key))).toBe('ip:203.0.113.7');
    }
  });

  it('counts a valid token against its user, without looking the user up', async () => {
    const token = await tokens.signAsync({ sub: SUB, email: 'a@example.com', role: 'sender' });
    expect(await guard.trackerFor(request(`Bearer ${token}`))).toBe(`user:${SUB}`);
  });

  it('counts everything else against the address', async () => {
    const forged = jwt.sign({ sub: SUB }, 'x'.repeat(48), { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience, expiresIn: 60 });
    const hs512 = jwt.sign({ sub: SUB }, AUTH.jwtSecret, { algorithm: 'HS512', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience, expiresIn: 60 });
    const expired = jwt.sign({ sub: SUB, exp: Math.floor(Date.now() / 1000) - 10 }, AUTH.jwtSecret, { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience });
    for (const authorization of [undefined, 'Bearer not-a-jwt', `Bearer ${forged}`, `Bearer ${hs512}`, `Bearer ${expired}`, 'Basic dXNlcjpwYXNz']) {
      expect(await guard.trackerFor(request(authorization))).toBe('ip:203.0.113.7');
    }
  });
});
