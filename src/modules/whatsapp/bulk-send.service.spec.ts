import { DataSource, EntityManager } from 'typeorm';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { OutboxWriter } from '../../database/outbox/outbox.writer';
import { JobName } from '../queue/queue.types';
import { BulkSendService } from './bulk-send.service';
import { ContactPolicyService } from './contact-policy.service';
import { MessageDirection, MessageStatus } from './message-status';
import { parseWhatsAppAddress } from './phone-number';
import { PreparedSend, WhatsAppService } from './whatsapp.service';

const USER = '0b6f7f43-31e9-4b1e-8a3b-7c1d2e3f4a5b';
const SENDER = 'whatsapp:+14155238886';
const OPTED_OUT = '+14155550199';

/** WhatsAppService.prepare's checks, on the real phone-number parser. */
function prepare(input: { to: string; body?: string; from?: string; contentSid?: string; mediaUrls?: string[]; userId?: string }): PreparedSend {
  const to = parseWhatsAppAddress(input.to, 'to');
  if (input.from && input.from !== SENDER) throw new DomainException(ErrorCode.UnknownSender, 'from must be one of the configured senders', { field: 'from' });
  return {
    to,
    isTemplate: !!input.contentSid,
    message: {
      direction: MessageDirection.Outbound,
      from: SENDER,
      to: to.address,
      body: input.body ?? null,
      mediaUrls: input.mediaUrls ?? [],
      contentSid: input.contentSid ?? null,
      contentVariables: null,
      status: MessageStatus.Queued,
      createdBy: input.userId ?? null,
    },
  };
}

function setup() {
  const manager = { query: jest.fn().mockResolvedValue([]) } as unknown as jest.Mocked<EntityManager>;
  const dataSource = { transaction: jest.fn((work: (m: EntityManager) => Promise<unknown>) => work(manager)) } as unknown as jest.Mocked<DataSource>;
  const whatsapp = { prepare: jest.fn(prepare) } as unknown as WhatsAppService;
  const contactPolicy = {
    refusals: jest.fn(async (intents: { phone: string }[]) =>
      intents.map((i) => (i.phone === OPTED_OUT ? new DomainException(ErrorCode.RecipientOptedOut, `${i.phone} opted out`, { to: i.phone }) : null)),
    ),
  } as unknown as jest.Mocked<ContactPolicyService>;
  const outbox = { add: jest.fn().mockResolvedValue(undefined) } as unknown as jest.Mocked<OutboxWriter>;
  const domainEvents = { publish: jest.fn() } as unknown as jest.Mocked<DomainEvents>;
  const service = new BulkSendService(dataSource, whatsapp, contactPolicy, outbox, domainEvents);
  return { service, manager, dataSource, contactPolicy, outbox, domainEvents };
}

describe('BulkSendService', () => {
  it('reports each invalid message by index with the code of a single send, and stores the rest', async () => {
    const { service, manager, contactPolicy, outbox, domainEvents } = setup();
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
    expect(manager.query).toHaveBeenCalledTimes(1);
    const [sql, [json]] = manager.query.mock.calls[0] as [string, [string, Date]];
    expect(sql).toContain('INSERT INTO "WhatsAppMessage"');
    const rows = JSON.parse(json) as { id: string; to: string; mediaUrls: string[]; createdBy: string }[];
    expect(rows.map((r) => [r.id, r.to, r.mediaUrls, r.createdBy])).toEqual([
      [answer.results[0].id, 'whatsapp:+14155550101', [], USER],
      [answer.results[7].id, 'whatsapp:+14155550106', ['https://example.com/a.png'], USER],
    ]);
    expect(outbox.add).toHaveBeenCalledTimes(1);
    expect(outbox.add.mock.calls[0][0]).toBe(manager);
    expect(outbox.add.mock.calls[0][1]).toEqual(
      rows.map((r) => ({ queue: 'whatsapp', jobName: JobName.SendMessage, jobId: `send-${r.id}`, payload: { messageId: r.id } })),
    );
    expect(domainEvents.publish.mock.calls.map(([e]) => e)).toEqual(
      rows.map((r) => ({ type: DomainEventType.MessageAccepted, messageId: r.id, from: SENDER, immediate: false })),
    );
  });

  it('stores nothing when no message is valid', async () => {
    const { service, dataSource, outbox } = setup();
    const answer = await service.send([{ to: '12345', message: 'x' }], USER);
    expect(answer).toEqual({ success: true, accepted: 0, rejected: 1, results: [{ index: 0, error: expect.objectContaining({ code: ErrorCode.MissingCountryCode }) }] });
    expect(dataSource.transaction).not.toHaveBeenCalled();
    expect(outbox.add).not.toHaveBeenCalled();
  });
});
