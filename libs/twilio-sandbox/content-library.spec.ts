import { ContentLibrary } from './content-library';
import { SANDBOX_TEMPLATES, SandboxTemplateSid, TemplateApprovalStatus } from './content-templates';
import { SandboxControlError } from './sandbox-control.error';

describe('ContentLibrary', () => {
  it('adds a template with a generated SID that renders, falling back to its defaults, and forgets it on reset', () => {
    const library = new ContentLibrary();
    const added = library.add({ friendlyName: 'welcome', variables: { '2': 'friend' }, types: { 'twilio/text': { body: 'Hi {{1}}, {{2}}' } } });
    expect(added).toMatchObject({ sid: expect.stringMatching(/^HX[0-9a-f]{32}$/), language: 'en', approvalStatus: TemplateApprovalStatus.Approved });
    expect(library.render(added.sid, '{"1":"Ada"}').body).toBe('Hi Ada, friend');
    expect(library.all()).toHaveLength(SANDBOX_TEMPLATES.length + 1);
    library.recordRequest('GET', '/v1/Content');
    library.reset();
    expect(library.all().map((t) => t.sid)).toEqual(Object.values(SandboxTemplateSid));
    expect(library.receivedRequests()).toEqual([]);
  });

  it('refuses a duplicate SID, unknown fields and malformed templates with a control error', () => {
    const library = new ContentLibrary();
    const refusal = (input: unknown) => {
      try {
        library.add(input);
      } catch (err) {
        return err instanceof SandboxControlError ? `${err.httpStatus} ${err.message}` : String(err);
      }
      return 'added';
    };
    const types = { 'twilio/text': { body: 'x' } };
    expect(refusal({ sid: SandboxTemplateSid.OrderUpdate, friendlyName: 'dup', types })).toMatch(/^409 /);
    expect(refusal({ friendlyName: 'x', types, colour: 'red' })).toMatch(/^400 unknown template field\(s\): colour/);
    expect(refusal({ friendlyName: '', types })).toMatch(/^400 friendlyName/);
    expect(refusal({ friendlyName: 'x', types: {} })).toMatch(/^400 types/);
    expect(refusal({ friendlyName: 'x', types, variables: { '1': 2 } })).toMatch(/^400 variables/);
    expect(refusal({ friendlyName: 'x', types, approvalStatus: 'maybe' })).toMatch(/^400 approvalStatus/);
    expect(refusal({ sid: 'HX1', friendlyName: 'x', types })).toMatch(/^400 sid/);
    expect(library.remove(SandboxTemplateSid.OneTimeCode)).toBe(true);
    expect(library.remove(SandboxTemplateSid.OneTimeCode)).toBe(false);
  });
});
