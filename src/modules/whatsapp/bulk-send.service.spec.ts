import { ConfigService } from '@nestjs/config';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { TemplateCatalog, TemplateCheckOutcome } from '../templates/template-catalog.service';
import { BulkSendService } from './bulk-send.service';
import { ContactPolicyService } from './contact-policy.service';
import { JobName } from './jobs/whatsapp-jobs';
import { MessageStatus } from './message-status';
import { NewMessage, Tx, WhatsAppMessageRepository } from './messages/whatsapp-message.repository';
import { IdempotencyKeyRepository } from './idempotency/idempotency-key.repository';

const USER = '0b6f7f43-31e9-4b1e-8a3b-7c1d2e3f4a5b';
const SENDER = 'whatsapp:+14155238886';
const OPTED_OUT = '+14155550199';

function setup() {
  const tx = { marker: 'tx' } as unknown as Tx;
  const stored: NewMessage[] = [];
  const messages = {
    transaction: jest.fn((work: (t: Tx) => Promise<unknown>) => work(tx)),
    insert: jest.fn(async (_tx: Tx | undefined, rows: NewMessage[]) => {
      stored.push(...rows);
      return rows.map((r) => ({ id: r.id!, retryOf: null }));
    }),
  };
  // The real send checks (prepareSend) run against this configuration.
  const config = {
    get: (key: string) => ({ twilio: { whatsappFrom: [SENDER] }, whatsapp: { scheduleMinLeadMs: 60_000 } })[key],
  } as unknown as ConfigService<AppConfig, true>;
  const contactPolicy = {
    refusals: jest.fn(async (intents: { phone: string }[]) =>
      intents.map((i) => (i.phone === OPTED_OUT ? new DomainException(ErrorCode.RecipientOptedOut, `${i.phone} opted out`, { to: i.phone }) : null)),
    ),
  } as unknown as jest.Mocked<ContactPolicyService>;
  const outbox = { add: jest.fn().mockResolvedValue(undefined) } as unknown as jest.Mocked<OutboxWriter>;
  const domainEvents = { publish: jest.fn() } as unknown as jest.Mocked<DomainEvents>;
  const idempotencyKeys = { bindMessages: jest.fn().mockResolvedValue(undefined) } as unknown as jest.Mocked<IdempotencyKeyRepository>;
  const templates = {
    check: jest.fn(async (contentSid: string, variables: Record<string, unknown> | null) => {
      if (variables && 'unknown' in variables) {
        throw new DomainException(ErrorCode.TemplateVariablesInvalid, 'names unknown', { field: 'contentVariables', contentSid, missing: [], unknown: ['unknown'] });
      }
      return TemplateCheckOutcome.Valid;
    }),
  } as unknown as jest.Mocked<TemplateCatalog>;
  const service = new BulkSendService(messages as unknown as WhatsAppMessageRepository, config, contactPolicy, outbox, domainEvents, idempotencyKeys, templates);
  return { service, tx, stored, messages, contactPolicy, outbox, domainEvents, idempotencyKeys, templates };
}

describe('BulkSendService', () => {
  it('reports each invalid message by index with the code of a single send, and stores the rest', async () => {
    const { service, tx, stored, messages, contactPolicy, outbox, domainEvents } = setup();
    const items = [
      { to: '+14155550101', message: 'one' },
      { to: '4155550102', message: 'x' },
      { to: '+14155550103', message: 'x'.repeat(1601) },
      { to: '+14155550104', message: 'x', immediate: true },
      { to: OPTED_OUT, message: 'x' },
      42,
      { to: '+14155550105', message: 'x', from: 'whatsapp:+447911123456' },
      { to: '+14155550106', mediaUrl: 'https://example.com/a.png' },
    ];
    const answer = await service.send(items, USER);

    expect(answer).toMatchObject({ success: true, accepted: 2, rejected: 6 });
    expect(answer.results.map((r) => [r.index, r.status ?? r.error?.code, r.error?.field])).toEqual([
      [0, MessageStatus.Queued, undefined],
      [1, ErrorCode.MissingCountryCode, 'to'],
      [2, ErrorCode.ValidationFailed, 'message'],
      [3, ErrorCode.ValidationFailed, 'immediate'],
      [4, ErrorCode.RecipientOptedOut, 'to'],
      [5, ErrorCode.ValidationFailed, undefined],
      [6, ErrorCode.UnknownSender, 'from'],
      [7, MessageStatus.Queued, undefined],
    ]);
    expect(answer.results[2].error?.message).toContain('at most 1600 characters');

    // One contact look-up for every recipient that passed the other checks.
    expect(contactPolicy.refusals).toHaveBeenCalledTimes(1);
    expect(contactPolicy.refusals.mock.calls[0][0].map((i) => i.phone)).toEqual(['+14155550101', OPTED_OUT, '+14155550106']);

    // One insert of the messages and one of their jobs, in one transaction.
    expect(messages.insert).toHaveBeenCalledTimes(1);
    expect(messages.insert.mock.calls[0][0]).toBe(tx);
    const rows = stored;
    expect(rows.map((r) => [r.id, r.from, r.to, r.mediaUrls, r.createdBy, r.status])).toEqual([
      [answer.results[0].id, SENDER, 'whatsapp:+14155550101', [], USER, MessageStatus.Queued],
      [answer.results[7].id, SENDER, 'whatsapp:+14155550106', ['https://example.com/a.png'], USER, MessageStatus.Queued],
    ]);
    expect(rows.every((r) => r.queuedAt instanceof Date)).toBe(true);
    expect(outbox.add).toHaveBeenCalledTimes(1);
    expect(outbox.add.mock.calls[0][0]).toBe(tx);
    expect(outbox.add.mock.calls[0][1]).toEqual(
      rows.map((r) => ({ queue: 'whatsapp', jobName: JobName.SendMessage, jobId: `send-${r.id}`, payload: { messageId: r.id, from: SENDER } })),
    );
    expect(domainEvents.publish.mock.calls.map(([e]) => e)).toEqual(
      rows.map((r) => ({ type: DomainEventType.MessageAccepted, messageId: r.id, from: SENDER, immediate: false })),
    );
  });

  it('stores nothing when no message is valid', async () => {
    const { service, messages, outbox } = setup();
    const answer = await service.send([{ to: '12345', message: 'x' }], USER);
    expect(answer).toEqual({ success: true, accepted: 0, rejected: 1, results: [{ index: 0, error: expect.objectContaining({ code: ErrorCode.MissingCountryCode }) }] });
    expect(messages.transaction).not.toHaveBeenCalled();
    expect(outbox.add).not.toHaveBeenCalled();
  });

  it('stores the answer of an Idempotency-Key in the transaction that stores the messages', async () => {
    const { service, tx, idempotencyKeys } = setup();
    const claim = { id: 'claim-1', answered: false };

    const answer = await service.send([{ to: '+14155550101', message: 'one' }, { to: 'nope', message: 'two' }], USER, claim);

    expect(idempotencyKeys.bindMessages).toHaveBeenCalledWith(tx, [{ claimId: 'claim-1', messageId: null, answer: { status: 202, body: answer } }]);
    expect(claim.answered).toBe(true);
  });

  it('reports a template item whose contentVariables its template refuses, with the details, and stores the others', async () => {
    const { service, stored, templates, contactPolicy } = setup();
    const sid = `HX${'a'.repeat(32)}`;
    const answer = await service.send(
      [
        { to: '+14155550101', contentSid: sid, contentVariables: { '1': 'Ada' } },
        { to: '+14155550102', contentSid: sid, contentVariables: { unknown: 'x' } },
        { to: '+14155550103', message: 'plain text' },
      ],
      USER,
    );
    expect(answer).toMatchObject({ accepted: 2, rejected: 1 });
    expect(answer.results[1]).toEqual({
      index: 1,
      error: { code: ErrorCode.TemplateVariablesInvalid, message: 'names unknown', field: 'contentVariables', details: { contentSid: sid, missing: [], unknown: ['unknown'] } },
    });
    expect(stored.map((r) => r.to)).toEqual(['whatsapp:+14155550101', 'whatsapp:+14155550103']);
    expect(templates.check.mock.calls.map(([contentSid]) => contentSid)).toEqual([sid, sid]);
    // A refused item costs no contact look-up.
    expect(contactPolicy.refusals.mock.calls[0][0].map((i: { phone: string }) => i.phone)).toEqual(['+14155550101', '+14155550103']);
  });

  it('schedules messages at the batch sendAt or their own, refuses one out of range by index, and holds their jobs in the outbox until then', async () => {
    const { service, stored, outbox } = setup();
    const batchAt = new Date(Date.now() + 3_600_000);
    const ownAt = new Date(Date.now() + 7_200_000);
    const answer = await service.send(
      [
        { to: '+14155550101', message: 'batch time' },
        { to: '+14155550102', message: 'own time', sendAt: ownAt.toISOString() },
        { to: '+14155550103', message: 'too soon', sendAt: new Date(Date.now() + 30_000).toISOString() },
        { to: '+14155550104', message: 'no offset', sendAt: '2030-01-01T10:00:00' },
      ],
      USER,
      undefined,
      batchAt.toISOString(),
    );

    expect(answer.results.map((r) => [r.index, r.status ?? r.error?.code, r.scheduledAt ?? r.error?.field])).toEqual([
      [0, MessageStatus.Scheduled, batchAt.toISOString()],
      [1, MessageStatus.Scheduled, ownAt.toISOString()],
      [2, ErrorCode.SendAtOutOfRange, 'sendAt'],
      [3, ErrorCode.ValidationFailed, 'sendAt'],
    ]);
    expect(stored.map((r) => [r.status, r.scheduledAt, r.queuedAt])).toEqual([
      [MessageStatus.Scheduled, batchAt, null],
      [MessageStatus.Scheduled, ownAt, null],
    ]);
    expect(outbox.add.mock.calls[0][1].map((j) => j.availableAt)).toEqual([batchAt, ownAt]);
  });

  it('refuses the whole batch when its own sendAt is out of range, storing nothing', async () => {
    const { service, messages } = setup();
    const tooFar = new Date(Date.now() + 36 * 24 * 3_600_000).toISOString();
    await expect(service.send([{ to: '+14155550101', message: 'x' }], USER, undefined, tooFar)).rejects.toMatchObject({ code: ErrorCode.SendAtOutOfRange });
    expect(messages.transaction).not.toHaveBeenCalled();
  });
});
