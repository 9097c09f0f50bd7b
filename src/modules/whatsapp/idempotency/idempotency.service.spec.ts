import { Logger } from '@nestjs/common';
import { DomainException } from '../../../common/errors/domain.exception';
import { ErrorCode } from '../../../common/errors/error-code';
import { IdempotencyState } from './idempotency-key.entity';
import { IdempotencyKeyRepository, IdempotencyScope, LiveIdempotencyKey } from './idempotency-key.repository';
import { IDEMPOTENCY_KEY_TTL_MS, IDEMPOTENCY_LEASE_MS, IdempotencyService, PURGE_BATCH_SIZE, PURGE_EVERY_CLAIMS } from './idempotency.service';
import { requestHash } from './request-hash';

const scope: IdempotencyScope = { userId: '7d0c7c1e-3f0e-4c5e-9f59-0d2b1c3a4e5f', route: 'whatsapp.send', key: 'k-1' };
const body = { to: '+14155550100', message: 'hi' };

function repository(overrides: Partial<jest.Mocked<IdempotencyKeyRepository>> = {}): jest.Mocked<IdempotencyKeyRepository> {
  return {
    claim: jest.fn().mockResolvedValue('claim-1'),
    findLive: jest.fn().mockResolvedValue(null),
    complete: jest.fn().mockResolvedValue(true),
    release: jest.fn().mockResolvedValue(undefined),
    purgeExpired: jest.fn().mockResolvedValue(0),
    ...overrides,
  } as unknown as jest.Mocked<IdempotencyKeyRepository>;
}

function held(overrides: Partial<LiveIdempotencyKey> = {}): LiveIdempotencyKey {
  return { id: 'claim-0', requestHash: requestHash(body), state: IdempotencyState.InFlight, responseStatus: null, responseBody: null, message: null, abandoned: false, ...overrides };
}

describe('IdempotencyService', () => {
  let logged: jest.SpyInstance[];
  beforeEach(() => {
    logged = (['error', 'warn'] as const).map((level) => jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined));
  });
  afterEach(() => logged.forEach((spy) => spy.mockRestore()));

  it('claims a new key with one call, passing the TTL and the lease', async () => {
    const keys = repository();
    await expect(new IdempotencyService(keys).begin(scope, body)).resolves.toEqual({ kind: 'claimed', claimId: 'claim-1' });
    expect(keys.claim).toHaveBeenCalledTimes(1);
    expect(keys.claim).toHaveBeenCalledWith(scope, requestHash(body), IDEMPOTENCY_KEY_TTL_MS, IDEMPOTENCY_LEASE_MS);
    expect(keys.findLive).not.toHaveBeenCalled();
  });

  it('replays the stored answer of a completed request with the same body', async () => {
    const keys = repository({
      claim: jest.fn().mockResolvedValue(null),
      findLive: jest.fn().mockResolvedValue(held({ state: IdempotencyState.Completed, responseStatus: 202, responseBody: { id: 'm-1' } })),
    });
    await expect(new IdempotencyService(keys).begin(scope, { message: 'hi', to: '+14155550100' })).resolves.toEqual({ kind: 'replay', status: 202, body: { id: 'm-1' } });
  });

  it.each([IdempotencyState.InFlight, IdempotencyState.Completed])('refuses another body with IDEMPOTENCY_KEY_REUSED (key %s)', async (state) => {
    const keys = repository({ claim: jest.fn().mockResolvedValue(null), findLive: jest.fn().mockResolvedValue(held({ state, responseStatus: 202 })) });
    await expect(new IdempotencyService(keys).begin(scope, { ...body, message: 'other' })).rejects.toMatchObject({ code: ErrorCode.IdempotencyKeyReused });
  });

  it('refuses while the request with the key is in flight', async () => {
    const keys = repository({ claim: jest.fn().mockResolvedValue(null), findLive: jest.fn().mockResolvedValue(held()) });
    await expect(new IdempotencyService(keys).begin(scope, body)).rejects.toMatchObject({ code: ErrorCode.IdempotencyRequestInFlight });
  });

  it('answers from the stored message when the request that stored it died before answering, and keeps that answer', async () => {
    const message = { id: 'm-1', messageSid: null, status: 'queued' };
    const keys = repository({ claim: jest.fn().mockResolvedValue(null), findLive: jest.fn().mockResolvedValue(held({ message, abandoned: true })) });
    const expected = { kind: 'replay', status: 202, body: { success: true, id: 'm-1', messageSid: null, status: 'queued' } };
    await expect(new IdempotencyService(keys).begin(scope, body)).resolves.toEqual(expected);
    expect(keys.complete).toHaveBeenCalledWith('claim-0', 202, expected.body);
    expect(keys.findLive).toHaveBeenCalledWith(scope, IDEMPOTENCY_LEASE_MS);

    const sent = { id: 'm-2', messageSid: 'SM' + 'a'.repeat(32), status: 'delivered' };
    keys.findLive.mockResolvedValue(held({ message: sent, abandoned: true }));
    await expect(new IdempotencyService(keys).begin(scope, body)).resolves.toMatchObject({ kind: 'replay', status: 201, body: { id: 'm-2', messageSid: sent.messageSid } });
  });

  it('refuses while a request that stored its message may still be sending it (lease not over)', async () => {
    const keys = repository({ claim: jest.fn().mockResolvedValue(null), findLive: jest.fn().mockResolvedValue(held({ message: { id: 'm-1', messageSid: null, status: 'queued' } })) });
    await expect(new IdempotencyService(keys).begin(scope, body)).rejects.toMatchObject({ code: ErrorCode.IdempotencyRequestInFlight });
    expect(keys.complete).not.toHaveBeenCalled();
  });

  it('claims again when the row holding the key went away between the claim and the look-up', async () => {
    const keys = repository({ claim: jest.fn().mockResolvedValueOnce(null).mockResolvedValueOnce('claim-2'), findLive: jest.fn().mockResolvedValue(null) });
    await expect(new IdempotencyService(keys).begin(scope, body)).resolves.toEqual({ kind: 'claimed', claimId: 'claim-2' });
    expect(keys.claim).toHaveBeenCalledTimes(2);
  });

  it('stores a success, and never fails the request when it cannot', async () => {
    const keys = repository();
    const service = new IdempotencyService(keys);
    await service.succeed('claim-1', 202, { id: 'm-1' });
    expect(keys.complete).toHaveBeenCalledWith('claim-1', 202, { id: 'm-1' });
    keys.complete.mockRejectedValueOnce(new Error('connection lost'));
    await expect(service.succeed('claim-1', 202, {})).resolves.toBeUndefined();
    expect(logged[0]).toHaveBeenCalledWith(expect.stringContaining('connection lost'));
  });

  it('releases the key after a failure that stored nothing', async () => {
    const keys = repository();
    const service = new IdempotencyService(keys);
    await service.fail('claim-1', new DomainException(ErrorCode.MissingCountryCode, 'to must include the country code', { field: 'to' }));
    await service.fail('claim-2', new Error('boom'));
    expect(keys.release.mock.calls).toEqual([['claim-1'], ['claim-2']]);
    expect(keys.complete).not.toHaveBeenCalled();
  });

  it('keeps a Twilio rejection (the message was stored as failed) and replays it as the same error', async () => {
    const keys = repository();
    const rejection = new DomainException(ErrorCode.TwilioRejected, 'Twilio rejected the message: invalid To', { id: 'm-1', twilioCode: 21211 });
    await new IdempotencyService(keys).fail('claim-1', rejection);
    expect(keys.release).not.toHaveBeenCalled();
    const [, status, stored] = keys.complete.mock.calls[0];
    expect(status).toBe(422);
    const replayed = IdempotencyService.replayedFailure(status, stored);
    expect(replayed).toBeInstanceOf(DomainException);
    expect(replayed).toMatchObject({ code: ErrorCode.TwilioRejected, message: rejection.message, details: rejection.details });
    expect(IdempotencyService.replayedFailure(202, { id: 'm-1' })).toBeUndefined();
  });

  it('purges expired keys in the background every so many claims', async () => {
    const keys = repository();
    const service = new IdempotencyService(keys);
    for (let i = 0; i < PURGE_EVERY_CLAIMS - 1; i++) await service.begin(scope, body);
    expect(keys.purgeExpired).not.toHaveBeenCalled();
    await service.begin(scope, body);
    expect(keys.purgeExpired).toHaveBeenCalledWith(PURGE_BATCH_SIZE);
    keys.purgeExpired.mockRejectedValueOnce(new Error('db down'));
    for (let i = 0; i < PURGE_EVERY_CLAIMS; i++) await service.begin(scope, body);
    expect(keys.purgeExpired).toHaveBeenCalledTimes(2);
    await new Promise(setImmediate);
    expect(logged[1]).toHaveBeenCalledWith(expect.stringContaining('db down'));
  });
});
