import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainException } from '../errors/domain.exception';
import { ErrorCode } from '../errors/error-code';

export interface InputBounds {
  /** Nesting of objects and arrays; the deepest real body (a bulk item's contentVariables) is 3. */
  maxDepth: number;
  /** Keys of one object: class-transformer's key handling is quadratic in this number. */
  maxKeys: number;
  /** Items of one array: a safety net above the DTOs' own limits (1,000 messages in a bulk send), which say more. */
  maxItems: number;
  /** Every value of the whole input together, so 1,000 small objects cannot add up to a stall either. */
  maxValues: number;
  /** Characters of one string or key; field-specific limits (1,600 for a message) are the DTOs' job. */
  maxStringLength: number;
}

export const DEFAULT_INPUT_BOUNDS: InputBounds = {
  maxDepth: 8,
  maxKeys: 200,
  maxItems: 5000,
  maxValues: 50_000,
  maxStringLength: 16_384,
};

export interface InputViolation {
  code: ErrorCode;
  field: string;
  message: string;
  limit?: number;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function fieldName(parent: string, key: string | number): string {
  return parent ? `${parent}.${key}` : String(key);
}

function checkString(value: string, field: string, bounds: InputBounds, what = 'value'): InputViolation | undefined {
  if (value.length > bounds.maxStringLength) {
    return {
      code: ErrorCode.InputStringTooLong,
      field,
      message: `${field || 'input'}: ${what} is longer than ${bounds.maxStringLength} characters`,
      limit: bounds.maxStringLength,
    };
  }
  // Postgres text cannot hold U+0000: refused here, by name, instead of failing at the INSERT.
  if (value.includes('\u0000')) {
    return { code: ErrorCode.InputNulCharacter, field, message: `${field || 'input'}: ${what} contains a NUL character (\\u0000)` };
  }
  // JSON can spell half a surrogate pair (\ud800), which is no Unicode text: Postgres' json type and
  // the validators' encodeURI throw on it.
  if (LONE_SURROGATE.test(value)) {
    return { code: ErrorCode.InputInvalidUnicode, field, message: `${field || 'input'}: ${what} is not valid Unicode (a lone surrogate such as \\ud800)` };
  }
  return undefined;
}

/**
 * The first bound the input breaks, or undefined. Iterative, and stops at the first violation,
 * so a body nested 10,000 deep or with 200,000 keys costs one pass up to the bound, not a stall.
 */
export function findInputViolation(input: unknown, bounds: InputBounds = DEFAULT_INPUT_BOUNDS, root = ''): InputViolation | undefined {
  const stack: { value: unknown; field: string; depth: number }[] = [{ value: input, field: root, depth: 0 }];
  let values = 0;
  while (stack.length > 0) {
    const { value, field, depth } = stack.pop()!;
    if (++values > bounds.maxValues) {
      return { code: ErrorCode.InputTooManyValues, field: root, message: `The input has more than ${bounds.maxValues} values`, limit: bounds.maxValues };
    }
    if (typeof value === 'string') {
      const violation = checkString(value, field, bounds);
      if (violation) return violation;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= bounds.maxDepth) {
      return { code: ErrorCode.InputTooDeep, field, message: `${field || 'input'} is nested more than ${bounds.maxDepth} levels deep`, limit: bounds.maxDepth };
    }
    if (Array.isArray(value)) {
      if (value.length > bounds.maxItems) {
        return { code: ErrorCode.InputTooManyItems, field, message: `${field || 'input'} has more than ${bounds.maxItems} items`, limit: bounds.maxItems };
      }
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], field: fieldName(field, i), depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > bounds.maxKeys) {
      return { code: ErrorCode.InputTooManyKeys, field, message: `${field || 'input'} has more than ${bounds.maxKeys} keys`, limit: bounds.maxKeys };
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      const violation = checkString(key, fieldName(field, key.slice(0, 64)), bounds, 'a key');
      if (violation) return violation;
      stack.push({ value: (value as Record<string, unknown>)[key], field: fieldName(field, key), depth: depth + 1 });
    }
  }
  return undefined;
}

/** Throws the request's first violation as a 400 with its code and field name. */
export function assertRequestWithinBounds(request: Pick<FastifyRequest, 'body' | 'query' | 'params'>, bounds: InputBounds = DEFAULT_INPUT_BOUNDS): void {
  for (const [part, value] of [
    ['query', request.query],
    ['params', request.params],
    ['body', request.body],
  ] as const) {
    if (value === undefined) continue;
    const violation = findInputViolation(value, bounds);
    if (violation) {
      throw new DomainException(violation.code, violation.message, {
        field: violation.field || part,
        in: part,
        ...(violation.limit !== undefined ? { limit: violation.limit } : {}),
      });
    }
  }
}

/**
 * Bounds every request's parsed body, query and path parameters before any route (and so before
 * class-transformer and the DTOs) sees them. Registered before the routes so it covers them all.
 */
export function registerInputBounds(fastify: FastifyInstance, bounds: InputBounds = DEFAULT_INPUT_BOUNDS): void {
  fastify.addHook('preValidation', async (request) => assertRequestWithinBounds(request, bounds));
}
