import { ConfigService } from '@nestjs/config';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import jwt from 'jsonwebtoken';
import { AuthSettings } from '../../config/configuration';
import { AccessTokenVerifier } from './access-token.verifier';
import { AccessDecision, AdminAccessService, bearerToken } from './admin-access.service';
import { generateApiKey } from './credentials';
import { ApiKeysService } from './api-keys.service';
import { ApiKey } from './entities/api-key.entity';
import { AuthenticatedUser } from './auth.types';
import { User, UserRole } from './entities/user.entity';
import { jwtModuleOptions } from './jwt-options';
import { JwtStrategy } from './strategies/jwt.strategy';
import { UsersService } from './users.service';

const AUTH: AuthSettings = {
  jwtSecret: 's'.repeat(48),
  jwtSecretGenerated: false,
  jwtExpiresInSeconds: 3600,
  jwtIssuer: 'whatsapp-service',
  jwtAudience: 'whatsapp-api',
  adminEmail: 'admin@example.com',
};

function user(id: string, role: UserRole, active = true): User {
  return Object.assign(new User(), { id, email: `${id.slice(0, 4)}@example.com`, role, active, passwordHash: 'unused' });
}

const admin = user('0b0f6c1e-1b2a-4c3d-8e4f-5a6b7c8d9e01', UserRole.Admin);
const sender = user('0b0f6c1e-1b2a-4c3d-8e4f-5a6b7c8d9e02', UserRole.Sender);
const deactivatedAdmin = user('0b0f6c1e-1b2a-4c3d-8e4f-5a6b7c8d9e03', UserRole.Admin, false);
const deletedId = '0b0f6c1e-1b2a-4c3d-8e4f-5a6b7c8d9e04';
const rows = [admin, sender, deactivatedAdmin];

/** The users table, for UsersService.findById: the rows above and nothing else. */
const usersTable = {
  findOne: async ({ where }: { where: { id: string } }): Promise<User | null> => rows.find((u) => u.id === where.id) ?? null,
};

const adminKey = generateApiKey();
const senderKey = generateApiKey();
const expiredKey = generateApiKey();
const keyRow = (secretHash: string, role: UserRole, fields: Partial<ApiKey> = {}) =>
  Object.assign(new ApiKey(), { id: '7a0f6c1e-1b2a-4c3d-8e4f-5a6b7c8d9e0' + role.length, name: role, role, secretHash, createdBy: admin.id, revokedAt: null, expiresAt: null, lastUsedAt: new Date(), ...fields });
const keyRows = [keyRow(adminKey.secretHash, UserRole.Admin), keyRow(senderKey.secretHash, UserRole.Sender), keyRow(expiredKey.secretHash, UserRole.Admin, { expiresAt: new Date(Date.now() - 1000) })];
const apiKeysTable = { findOneBy: async ({ secretHash }: { secretHash: string }) => keyRows.find((k) => k.secretHash === secretHash) ?? null };

const claimsOf = (u: Pick<User, 'id' | 'email' | 'role'>) => ({ sub: u.id, email: u.email, role: u.role });
const signed = (payload: object, secret: string, options: jwt.SignOptions) => jwt.sign(payload, secret, options);
const b64url = (obj: object) => Buffer.from(JSON.stringify(obj)).toString('base64url');

describe('AdminAccessService', () => {
  let access: AdminAccessService;
  let strategy: JwtStrategy;
  let jwtService: JwtService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtModule.register(jwtModuleOptions(AUTH))],
      providers: [
        AccessTokenVerifier,
        AdminAccessService,
        JwtStrategy,
        UsersService,
        ApiKeysService,
        { provide: getRepositoryToken(User), useValue: usersTable },
        { provide: getRepositoryToken(ApiKey), useValue: apiKeysTable },
        { provide: ConfigService, useValue: new ConfigService({ auth: AUTH }) },
      ],
    }).compile();
    access = moduleRef.get(AdminAccessService);
    strategy = moduleRef.get(JwtStrategy);
    jwtService = moduleRef.get(JwtService);
  });

  /** What the API's JwtAuthGuard gets from passport for `Authorization: Bearer <token>`. */
  function strategyUser(token: string): Promise<AuthenticatedUser | false> {
    return new Promise((resolve, reject) => {
      // Passport runs each request on a copy of the strategy with these three actions attached.
      const attempt = Object.assign(Object.create(strategy) as JwtStrategy, {
        success: (u: AuthenticatedUser) => resolve(u),
        fail: () => resolve(false),
        error: (err: Error) => reject(err),
      });
      attempt.authenticate({ headers: { authorization: `Bearer ${token}` } } as never);
    });
  }

  const valid = { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience, expiresIn: 60 } as const;
  const now = () => Math.floor(Date.now() / 1000);

  const refused: [string, () => string, RegExp][] = [
    ['a token signed with another secret', () => signed(claimsOf(admin), 'x'.repeat(48), valid), /^Invalid access token$/],
    ['HS512 with the right secret', () => signed(claimsOf(admin), AUTH.jwtSecret, { ...valid, algorithm: 'HS512' }), /^Invalid access token$/],
    ['alg none', () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claimsOf(admin), iss: AUTH.jwtIssuer, aud: AUTH.jwtAudience, exp: now() + 60 })}.`, /^Invalid access token$/],
    ['another issuer', () => signed(claimsOf(admin), AUTH.jwtSecret, { ...valid, issuer: 'someone-else' }), /^Invalid access token$/],
    ['another audience', () => signed(claimsOf(admin), AUTH.jwtSecret, { ...valid, audience: 'other-api' }), /^Invalid access token$/],
    ['an expired token', () => signed({ ...claimsOf(admin), exp: now() - 10 }, AUTH.jwtSecret, { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience }), /expired; log in again$/],
    ['a deactivated admin', () => signed(claimsOf(deactivatedAdmin), AUTH.jwtSecret, valid), /^Invalid access token$/],
    ['a deleted user', () => signed({ ...claimsOf(admin), sub: deletedId }, AUTH.jwtSecret, valid), /^Invalid access token$/],
    ['not a JWT', () => 'not-a-jwt', /^Invalid access token$/],
    // Signed with the real secret, but naming no user: they must not fall back to some other row.
    ['a token without sub', () => signed({ email: admin.email, role: admin.role }, AUTH.jwtSecret, valid), /^Invalid access token$/],
    ['a token whose sub is null', () => signed({ ...claimsOf(admin), sub: null }, AUTH.jwtSecret, valid), /^Invalid access token$/],
    ['a token whose sub is not a user id', () => signed({ ...claimsOf(admin), sub: 'admin' }, AUTH.jwtSecret, valid), /^Invalid access token$/],
    ['a token without exp (it would never expire)', () => signed(claimsOf(admin), AUTH.jwtSecret, { algorithm: 'HS256', issuer: AUTH.jwtIssuer, audience: AUTH.jwtAudience }), /^Invalid access token$/],
  ];

  it('lets an active admin in with a token the service signed', async () => {
    const token = await jwtService.signAsync(claimsOf(admin));
    expect(await access.adminAccess(token)).toEqual({ decision: AccessDecision.Allowed, message: 'ok' });
    expect(await strategyUser(token)).toEqual({ id: admin.id, email: admin.email, role: UserRole.Admin });
  });

  it("refuses a sender's valid token with 403, which the API itself accepts", async () => {
    const token = await jwtService.signAsync(claimsOf(sender));
    expect(await access.adminAccess(token)).toEqual({ decision: AccessDecision.Forbidden, message: 'This needs the admin role' });
    expect(await strategyUser(token)).toEqual({ id: sender.id, email: sender.email, role: UserRole.Sender });
  });

  it.each(refused)('refuses %s with 401, as the API does', async (_case, make, message) => {
    const token = make();
    const result = await access.adminAccess(token);
    expect(result.decision).toBe(AccessDecision.Unauthenticated);
    expect(result.message).toMatch(message);
    expect(await strategyUser(token)).toBe(false);
  });

  it('takes an API key as the bearer token: an admin key in, a sender key 403, an expired or unknown key 401', async () => {
    expect(await access.adminAccess(adminKey.key)).toEqual({ decision: AccessDecision.Allowed, message: 'ok' });
    expect(await access.adminAccess(senderKey.key)).toEqual({ decision: AccessDecision.Forbidden, message: 'This needs the admin role' });
    expect(await access.adminAccess(expiredKey.key)).toMatchObject({ decision: AccessDecision.Unauthenticated, message: expect.stringMatching(/expired/) });
    expect(await access.adminAccess(generateApiKey().key)).toEqual({ decision: AccessDecision.Unauthenticated, message: 'Invalid access token' });
  });

  it('asks for a token when there is none', async () => {
    expect(await access.adminAccess(undefined)).toEqual({
      decision: AccessDecision.Unauthenticated,
      message: 'Missing bearer token: send Authorization: Bearer <accessToken> of an admin',
    });
  });

  it('reads the token of a Bearer authorization header only', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer   abc.def.ghi  ')).toBe('abc.def.ghi');
    expect(bearerToken(['Bearer first', 'Bearer second'])).toBe('first');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer two words')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
