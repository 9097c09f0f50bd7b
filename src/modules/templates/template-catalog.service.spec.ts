import { ConfigService } from '@nestjs/config';
import { DomainException } from '../../common/errors/domain.exception';
import { ErrorCode } from '../../common/errors/error-code';
import { DomainEvents, DomainEventType } from '../../common/events/domain-events';
import { AppConfig } from '../../config/configuration';
import { TwilioContentClient } from '../twilio/twilio-content.client';
import { ContentTemplateSnapshot } from '../twilio/twilio.types';
import { ListingRecord, SharedTemplateListing } from './shared-template-listing';
import { MISS_RELIST_INTERVAL_MS, TemplateCatalog, TemplateCheckOutcome } from './template-catalog.service';

const SID = `HX${'1'.repeat(32)}`;
const LATER_SID = `HX${'2'.repeat(32)}`;

function template(sid: string, body: string, variables: Record<string, string> = {}): ContentTemplateSnapshot {
  return { sid, friendlyName: `t_${sid.slice(-4)}`, language: 'en', variables, types: { 'twilio/text': { body } }, approvalStatus: 'approved', dateUpdated: null };
}

function setup(ttlMs = 60_000) {
  let listing: ContentTemplateSnapshot[] = [template(SID, 'Hi {{1}}, your code is {{2}}', { '2': '0000' })];
  let failure: Error | null = null;
  const content = {
    listTemplates: jest.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (failure) throw failure;
      return listing;
    }),
  } as unknown as jest.Mocked<TwilioContentClient>;
  const events = { publish: jest.fn() } as unknown as jest.Mocked<DomainEvents>;
  const config = { get: () => ({ templatesTtlMs: ttlMs }) } as unknown as ConfigService<AppConfig, true>;
  let stored: ListingRecord | null = null;
  const shared = {
    read: jest.fn(async () => stored),
    write: jest.fn(async (listing: ListingRecord) => {
      stored = listing;
    }),
  } as unknown as jest.Mocked<SharedTemplateListing>;
  const catalog = new TemplateCatalog(content, events, config, shared);
  return {
    catalog,
    shared,
    share: (listing: ListingRecord | null) => (stored = listing),
    content,
    events,
    setListing: (l: ContentTemplateSnapshot[]) => (listing = l),
    fail: (e: Error | null) => (failure = e),
  };
}

async function refusal(run: Promise<unknown>): Promise<DomainException> {
  try {
    await run;
  } catch (err) {
    if (err instanceof DomainException) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('TemplateCatalog', () => {
  it('lists the Content API once for 100 concurrent checks on a cold cache, and not again while warm', async () => {
    const { catalog, content } = setup();
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => catalog.check(SID, { '1': 'Ada' })));
    expect(new Set(outcomes)).toEqual(new Set([TemplateCheckOutcome.Valid]));
    await catalog.check(SID, { '1': 'Ada', '2': '42' });
    expect(content.listTemplates).toHaveBeenCalledTimes(1);
  });

  it('refuses missing and unknown variables, naming them', async () => {
    const { catalog } = setup();
    const err = await refusal(catalog.check(SID, { '2': 'x', '3': 'y', name: 'z' }));
    expect(err.code).toBe(ErrorCode.TemplateVariablesInvalid);
    expect(err.details).toEqual({ field: 'contentVariables', contentSid: SID, missing: ['1'], unknown: ['3', 'name'] });
    expect(err.message).toContain('misses 1');
    expect(err.message).toContain('names 3, name');
  });

  it('lists again once for a SID it does not know before refusing it, at most once a second', async () => {
    const { catalog, content, setListing } = setup();
    await catalog.check(SID, { '1': 'a' });
    setListing([template(SID, '{{1}}'), template(LATER_SID, 'Later {{1}}')]);
    // Listed moments ago: an unknown SID is refused from this listing.
    expect((await refusal(catalog.check(LATER_SID, { '1': 'a' }))).code).toBe(ErrorCode.TemplateNotFound);
    expect(content.listTemplates).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => setTimeout(resolve, MISS_RELIST_INTERVAL_MS + 10));
    expect(await catalog.check(LATER_SID, { '1': 'a' })).toBe(TemplateCheckOutcome.Valid);
    expect(content.listTemplates).toHaveBeenCalledTimes(2);
    await new Promise((resolve) => setTimeout(resolve, MISS_RELIST_INTERVAL_MS + 10));
    expect((await refusal(catalog.check(`HX${'9'.repeat(32)}`, {}))).code).toBe(ErrorCode.TemplateNotFound);
    expect(content.listTemplates).toHaveBeenCalledTimes(3);
  });

  it('accepts unchecked, counting it, when the Content API cannot be listed', async () => {
    const { catalog, events, fail } = setup();
    fail(new Error('503 Service Unavailable'));
    expect(await catalog.check(SID, { nonsense: 'x' })).toBe(TemplateCheckOutcome.Unchecked);
    expect(events.publish).toHaveBeenCalledWith({ type: DomainEventType.TemplateCheckSkipped, contentSid: SID });
    expect((await refusal(catalog.templates())).code).toBe(ErrorCode.TwilioUnavailable);
  });

  it('answers sends from a stale listing at once and renews it in the background', async () => {
    const { catalog, content, setListing } = setup(1000);
    await catalog.check(SID, { '1': 'a' });
    await new Promise((resolve) => setTimeout(resolve, 1010));
    setListing([template(SID, '{{1}} {{3}}')]);
    // The stale listing decides this one...
    expect(await catalog.check(SID, { '1': 'a' })).toBe(TemplateCheckOutcome.Valid);
    expect(content.listTemplates).toHaveBeenCalledTimes(2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // ...and the renewed one the next.
    expect((await refusal(catalog.check(SID, { '1': 'a' }))).details).toMatchObject({ missing: ['3'] });
  });

  it("takes another process's fresh shared listing instead of listing, but not to decide on a SID it lacks", async () => {
    const { catalog, content, share, shared } = setup();
    share({ templates: [template(LATER_SID, 'Shared {{1}}')], syncedAt: new Date(Date.now() - 2 * MISS_RELIST_INTERVAL_MS) });
    expect(await catalog.check(LATER_SID, { '1': 'a' })).toBe(TemplateCheckOutcome.Valid);
    expect(content.listTemplates).not.toHaveBeenCalled();
    // SID is not in the shared listing, which is too old to refuse it by: the Content API decides.
    expect(await catalog.check(SID, { '1': 'a' })).toBe(TemplateCheckOutcome.Valid);
    expect(content.listTemplates).toHaveBeenCalledTimes(1);
    expect(shared.write).toHaveBeenCalledWith({ templates: [expect.objectContaining({ sid: SID })], syncedAt: expect.any(Date) });
    // A forced listing never takes the shared one.
    await catalog.templates(true);
    expect(content.listTemplates).toHaveBeenCalledTimes(2);
  });
});
