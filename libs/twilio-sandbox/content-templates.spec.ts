import { SANDBOX_TEMPLATES, SandboxTemplateSid, renderTemplate } from './content-templates';
import { TwilioApiError, SimulatedErrorCode } from './simulated-errors';

function errorCodeOf(run: () => unknown): number | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof TwilioApiError ? error.code : undefined;
  }
  return undefined;
}

describe('renderTemplate', () => {
  it('substitutes supplied variables and falls back to the template defaults', () => {
    expect(renderTemplate(SandboxTemplateSid.AppointmentReminder, '{"1":"Monday","2":"10am"}').body).toBe(
      'Your appointment is coming up on Monday at 10am. Reply C to confirm or R to reschedule.',
    );
    expect(renderTemplate(SandboxTemplateSid.OneTimeCode, undefined).body).toBe(
      '123456 is your verification code. For your security, do not share this code.',
    );
    expect(renderTemplate(SandboxTemplateSid.OneTimeCode, '{"1": 987654}').variables).toEqual({ '1': '987654' });
  });

  it('refuses unknown or malformed SIDs with 21655 and bad variables with 21656', () => {
    expect(errorCodeOf(() => renderTemplate(`HX${'0'.repeat(32)}`, undefined))).toBe(SimulatedErrorCode.InvalidContentSid);
    expect(errorCodeOf(() => renderTemplate('HXnope', undefined))).toBe(SimulatedErrorCode.InvalidContentSid);
    expect(errorCodeOf(() => renderTemplate(SandboxTemplateSid.OrderUpdate, 'not json'))).toBe(SimulatedErrorCode.InvalidContentVariables);
    expect(errorCodeOf(() => renderTemplate(SandboxTemplateSid.OrderUpdate, '["a"]'))).toBe(SimulatedErrorCode.InvalidContentVariables);
    expect(errorCodeOf(() => renderTemplate(SandboxTemplateSid.OrderUpdate, '{"1":{"x":1}}'))).toBe(SimulatedErrorCode.InvalidContentVariables);
  });

  it('ships templates whose SIDs match Twilio’s HX pattern', () => {
    for (const template of SANDBOX_TEMPLATES) {
      expect(template.sid).toMatch(/^HX[0-9a-fA-F]{32}$/);
    }
  });
});
