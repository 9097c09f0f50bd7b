import { ConfigService } from '@nestjs/config';
import { Repository } from 'typeorm';
import { ErrorCode } from '../../common/errors/error-code';
import { AppConfig } from '../../config/configuration';
import { ContactPolicyService } from './contact-policy.service';
import { Contact } from './entities/contact.entity';

const NOW = new Date('2026-01-10T12:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000);

function contact(phone: string, fields: Partial<Contact>): Contact {
  return { phone, profileName: null, lastInboundAt: null, optedOutAt: null, updatedAt: NOW, ...fields };
}

function service(enforceSessionWindow: boolean, contacts: Contact[]) {
  // refusals() reads the contacts with one plain statement: answered here as Postgres would.
  const query = jest.fn(async (_sql: string, [phones]: [string[]]) => contacts.filter((c) => phones.includes(c.phone)));
  const repository = {
    manager: { query },
    find: jest.fn().mockResolvedValue(contacts),
    findOne: jest.fn(async ({ where }: { where: { phone: string } }) => contacts.find((c) => c.phone === where.phone) ?? null),
  } as unknown as jest.Mocked<Repository<Contact>>;
  const config = { get: () => ({ enforceSessionWindow }) } as unknown as ConfigService<AppConfig, true>;
  return { policy: new ContactPolicyService(repository, config), repository, query };
}

describe('ContactPolicyService.refusals', () => {
  const known = [
    contact('+14155550001', { optedOutAt: hoursAgo(1), lastInboundAt: hoursAgo(1) }),
    contact('+14155550002', { lastInboundAt: hoursAgo(2) }),
    contact('+14155550003', { lastInboundAt: hoursAgo(25) }),
  ];

  it('applies the rules to every intent, in order, with one query', async () => {
    const { policy, query } = service(true, known);
    const intents = [
      { phone: '+14155550001', isTemplate: true },
      { phone: '+14155550002', isTemplate: false },
      { phone: '+14155550003', isTemplate: false },
      { phone: '+14155550003', isTemplate: true },
      { phone: '+14155550004', isTemplate: false },
    ];
    const refusals = await policy.refusals(intents, NOW);
    expect(refusals.map((r) => r?.code ?? null)).toEqual([ErrorCode.RecipientOptedOut, null, ErrorCode.OutsideSessionWindow, null, ErrorCode.OutsideSessionWindow]);
    expect(query).toHaveBeenCalledTimes(1);
    expect(query.mock.calls[0][1]).toEqual([['+14155550001', '+14155550002', '+14155550003', '+14155550004']]);

    // The same answers as one intent at a time.
    for (const [i, intent] of intents.entries()) {
      const [single] = await policy.refusals([intent], NOW);
      expect({ i, code: single?.code ?? null }).toEqual({ i, code: refusals[i]?.code ?? null });
    }
  });

  it('only refuses opted-out numbers when the session window is not enforced, and makes no query for nothing', async () => {
    const { policy, query } = service(false, known);
    const refusals = await policy.refusals(['+14155550001', '+14155550003', '+14155550004'].map((phone) => ({ phone, isTemplate: false })), NOW);
    expect(refusals.map((r) => r?.code ?? null)).toEqual([ErrorCode.RecipientOptedOut, null, null]);
    query.mockClear();
    await expect(policy.refusals([], NOW)).resolves.toEqual([]);
    expect(query).not.toHaveBeenCalled();
  });
});
