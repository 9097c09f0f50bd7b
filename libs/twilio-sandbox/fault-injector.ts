import { DEFAULT_FAULTS, FailNextRule, SandboxFaults } from './sandbox.types';
import { SandboxControlError } from './sandbox-control.error';
import { TwilioApiError, SimulatedErrorCode, describeSimulatedError } from './simulated-errors';

export enum CreateFaultKind {
  Error = 'error',
  Timeout = 'timeout',
}

export type CreateFault =
  | { kind: CreateFaultKind.Error; error: TwilioApiError }
  | { kind: CreateFaultKind.Timeout; answerAfterMs: number | null };

const PROBABILITY_KEYS = [
  'rateLimitProbability',
  'serverErrorProbability',
  'serviceUnavailableProbability',
  'timeoutProbability',
  'callbackDropProbability',
  'callbackDuplicateProbability',
  'callbackDelayProbability',
  'callbackReorderProbability',
] as const;

const DURATION_KEYS = ['latencyMs', 'callbackDelayMs'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a (possibly JSON-sourced) partial fault set, so a typo fails loudly instead of being ignored. */
export function validateFaults(input: unknown): Partial<SandboxFaults> {
  if (!isRecord(input)) {
    throw new SandboxControlError('faults must be a JSON object');
  }
  const known = new Set(Object.keys(DEFAULT_FAULTS));
  const unknown = Object.keys(input).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new SandboxControlError(`unknown fault setting(s): ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  const result: Partial<SandboxFaults> = {};
  for (const key of PROBABILITY_KEYS) {
    if (key in input) {
      const value = input[key];
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
        throw new SandboxControlError(`${key} must be a number from 0 to 1`);
      }
      result[key] = value;
    }
  }
  for (const key of DURATION_KEYS) {
    if (key in input) {
      const value = input[key];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new SandboxControlError(`${key} must be a number of milliseconds >= 0`);
      }
      result[key] = value;
    }
  }
  if ('timeoutAnswerAfterMs' in input) {
    const value = input.timeoutAnswerAfterMs;
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      throw new SandboxControlError('timeoutAnswerAfterMs must be null (never answer) or milliseconds >= 0');
    }
    result.timeoutAnswerAfterMs = value;
  }
  if ('rateLimitRetryAfterSeconds' in input) {
    const value = input.rateLimitRetryAfterSeconds;
    if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
      throw new SandboxControlError('rateLimitRetryAfterSeconds must be null (no Retry-After) or whole seconds >= 0');
    }
    result.rateLimitRetryAfterSeconds = value;
  }
  if ('senderMps' in input) {
    const value = input.senderMps;
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) {
      throw new SandboxControlError('senderMps must be null (unlimited) or a number > 0');
    }
    result.senderMps = value;
  }
  if ('sessionWindow' in input) {
    if (typeof input.sessionWindow !== 'boolean') {
      throw new SandboxControlError('sessionWindow must be true or false');
    }
    result.sessionWindow = input.sessionWindow;
  }
  if ('contentApiUnavailable' in input) {
    if (typeof input.contentApiUnavailable !== 'boolean') {
      throw new SandboxControlError('contentApiUnavailable must be true or false');
    }
    result.contentApiUnavailable = input.contentApiUnavailable;
  }
  if ('failNext' in input) {
    if (!Array.isArray(input.failNext)) {
      throw new SandboxControlError('failNext must be an array of { httpStatus, code, message?, count? }');
    }
    result.failNext = input.failNext.map((rule, index) => validateFailNextRule(rule, index));
  }
  return result;
}

function validateFailNextRule(rule: unknown, index: number): FailNextRule {
  if (
    !isRecord(rule) ||
    typeof rule.httpStatus !== 'number' ||
    !Number.isInteger(rule.httpStatus) ||
    rule.httpStatus < 400 ||
    rule.httpStatus > 599 ||
    typeof rule.code !== 'number' ||
    (rule.message !== undefined && typeof rule.message !== 'string') ||
    (rule.count !== undefined && (typeof rule.count !== 'number' || !Number.isInteger(rule.count) || rule.count < 1)) ||
    (rule.retryAfterSeconds !== undefined && (typeof rule.retryAfterSeconds !== 'number' || !Number.isInteger(rule.retryAfterSeconds) || rule.retryAfterSeconds < 0))
  ) {
    throw new SandboxControlError(
      `failNext[${index}] must be { httpStatus: 400..599, code: number, message?: string, count?: integer >= 1, retryAfterSeconds?: integer >= 0 }`,
    );
  }
  return {
    httpStatus: rule.httpStatus,
    code: rule.code,
    ...(rule.message !== undefined ? { message: rule.message as string } : {}),
    count: (rule.count as number | undefined) ?? 1,
    ...(rule.retryAfterSeconds !== undefined ? { retryAfterSeconds: rule.retryAfterSeconds as number } : {}),
  };
}

export class FaultInjector {
  private faults: SandboxFaults = structuredClone(DEFAULT_FAULTS) as SandboxFaults;

  constructor(private readonly random: () => number = Math.random) {}

  current(): SandboxFaults {
    return structuredClone(this.faults);
  }

  set(partial: Partial<SandboxFaults>): SandboxFaults {
    const checked = validateFaults(partial);
    this.faults = { ...this.faults, ...structuredClone(checked) };
    return this.current();
  }

  reset(): void {
    this.faults = structuredClone(DEFAULT_FAULTS) as SandboxFaults;
  }

  get sessionWindow(): boolean {
    return this.faults.sessionWindow;
  }

  get contentApiUnavailable(): boolean {
    return this.faults.contentApiUnavailable;
  }

  get senderMps(): number | null {
    return this.faults.senderMps;
  }

  get latencyMs(): number {
    return this.faults.latencyMs;
  }

  /** failNext rules first (deterministic), then the probabilities in a fixed order. */
  pickCreateFault(): CreateFault | null {
    const rule = this.faults.failNext[0];
    if (rule) {
      const remaining = (rule.count ?? 1) - 1;
      if (remaining > 0) {
        this.faults.failNext[0] = { ...rule, count: remaining };
      } else {
        this.faults.failNext.shift();
      }
      return {
        kind: CreateFaultKind.Error,
        error: new TwilioApiError(rule.httpStatus, rule.code, rule.message ?? describeSimulatedError(rule.code), rule.retryAfterSeconds ?? null),
      };
    }
    if (this.strikes(this.faults.rateLimitProbability)) {
      const error = new TwilioApiError(429, SimulatedErrorCode.TooManyRequests, undefined, this.faults.rateLimitRetryAfterSeconds);
      return { kind: CreateFaultKind.Error, error };
    }
    if (this.strikes(this.faults.serverErrorProbability)) {
      return { kind: CreateFaultKind.Error, error: new TwilioApiError(500, SimulatedErrorCode.InternalServerError) };
    }
    if (this.strikes(this.faults.serviceUnavailableProbability)) {
      return { kind: CreateFaultKind.Error, error: new TwilioApiError(503, SimulatedErrorCode.ServiceUnavailable) };
    }
    if (this.strikes(this.faults.timeoutProbability)) {
      return { kind: CreateFaultKind.Timeout, answerAfterMs: this.faults.timeoutAnswerAfterMs };
    }
    return null;
  }

  dropCallback(): boolean {
    return this.strikes(this.faults.callbackDropProbability);
  }

  duplicateCallback(): boolean {
    return this.strikes(this.faults.callbackDuplicateProbability);
  }

  callbackDelayMs(): number {
    return this.strikes(this.faults.callbackDelayProbability) ? this.faults.callbackDelayMs : 0;
  }

  reorderCallback(): boolean {
    return this.strikes(this.faults.callbackReorderProbability);
  }

  private strikes(probability: number): boolean {
    return probability > 0 && this.random() < probability;
  }
}
