import { CreateFaultKind, FaultInjector, validateFaults } from './fault-injector';
import { SandboxControlError } from './sandbox-control.error';

describe('FaultInjector', () => {
  it('consumes failNext rules in order, counting each down', () => {
    const faults = new FaultInjector();
    faults.set({ failNext: [{ httpStatus: 429, code: 20429, count: 2 }, { httpStatus: 500, code: 20500 }] });
    const picked = [1, 2, 3, 4].map(() => faults.pickCreateFault());
    expect(picked.map((fault) => (fault?.kind === CreateFaultKind.Error ? fault.error.httpStatus : null))).toEqual([429, 429, 500, null]);
  });

  it('rolls the probabilities with the injected random source', () => {
    const faults = new FaultInjector(() => 0.3);
    faults.set({ rateLimitProbability: 0.25, serverErrorProbability: 0.5 });
    const fault = faults.pickCreateFault();
    expect(fault?.kind === CreateFaultKind.Error && fault.error.code).toBe(20500);
  });

  it('rejects unknown keys and out-of-range values', () => {
    expect(() => validateFaults({ nope: 1 })).toThrow(SandboxControlError);
    expect(() => validateFaults({ timeoutProbability: -0.1 })).toThrow('timeoutProbability');
    expect(() => validateFaults({ senderMps: 0 })).toThrow('senderMps');
    expect(validateFaults({ timeoutAnswerAfterMs: null, senderMps: null })).toEqual({ timeoutAnswerAfterMs: null, senderMps: null });
    expect(() => validateFaults({ rateLimitRetryAfterSeconds: 1.5 })).toThrow('rateLimitRetryAfterSeconds must be null (no Retry-After) or whole seconds >= 0');
    expect(() => validateFaults({ failNext: [{ httpStatus: 429, code: 20429, retryAfterSeconds: -1 }] })).toThrow('retryAfterSeconds?: integer >= 0');
  });
});
