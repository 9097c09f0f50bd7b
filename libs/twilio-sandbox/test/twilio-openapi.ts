import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Twilio's OpenAPI description, kept in the library (see openapi/README.md), unless TWILIO_OPENAPI_DIR names another copy. */
export const OPENAPI_DIR = process.env.TWILIO_OPENAPI_DIR ?? path.resolve(__dirname, '..', 'openapi');
export const MESSAGE_SCHEMA = 'api.v2010.account.message';
export const MESSAGES_PATH = '/2010-04-01/Accounts/{AccountSid}/Messages.json';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * OpenAPI 3.0 is not JSON Schema: `nullable: true` becomes a type union (and a
 * null enum member), and `format: uri` becomes `uri-reference` because Twilio's
 * own examples use relative URIs (`/2010-04-01/...`) for those fields.
 */
export function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) {
    return node.map(toJsonSchema);
  }
  if (node === null || typeof node !== 'object') {
    return node;
  }
  const result: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'nullable' && key !== 'example' && key !== 'examples') {
      result[key] = toJsonSchema(value);
    }
  }
  if (node.nullable === true) {
    if (typeof result.type === 'string') {
      result.type = [result.type, 'null'];
    }
    if (Array.isArray(result.enum)) {
      result.enum = [...result.enum, null];
    }
  }
  if (result.format === 'uri') {
    result.format = 'uri-reference';
  }
  return result;
}

/** The spec lists the properties but requires none; the contract is that every one is there and nothing else. */
export function strictObject(schema: { [key: string]: Json }): { [key: string]: Json } {
  const properties = schema.properties as { [key: string]: Json };
  return { ...schema, required: Object.keys(properties), additionalProperties: false };
}

export function loadSpec(file: string): { [key: string]: Json } {
  return toJsonSchema(JSON.parse(readFileSync(path.join(OPENAPI_DIR, file), 'utf8')) as Json) as { [key: string]: Json };
}

export function buildAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('phone-number', /^(whatsapp:)?\+[1-9]\d{1,14}$/);
  ajv.addFormat(
    'date-time-rfc-2822',
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
  );
  ajv.addFormat('currency', /^[A-Za-z]{3}$/);
  ajv.addFormat('uri-map', { type: 'object', validate: () => true } as never);
  return ajv;
}

export function expectValid(validate: ValidateFunction, value: unknown): void {
  const valid = validate(value);
  expect({ valid, errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
}
