// Turning a build-time generated ajv validator's verdict into a CNI config error (code 7) that
// names the field and says what is wrong with it.
import { configError } from './errors.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}
type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

/** Throws code 7 when `data` fails `validate`; `prefix` is where `data` sits in the config, e.g. "ipam". */
export function checkSchema(validate: Validator, data: unknown, prefix = ''): void {
  if (validate(data)) return;
  const e = validate.errors?.[0];
  if (!e) throw configError(`${prefix || 'config'} is invalid`);
  throw configError(describe(e, prefix));
}

/** "/ranges/0/1/subnet" under "ipam" → "ipam.ranges[0][1].subnet". */
export function fieldPath(prefix: string, instancePath: string): string {
  let out = prefix;
  for (const part of instancePath.split('/').slice(1)) {
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out || 'config';
}

function describe(e: AjvError, prefix: string): string {
  const field = fieldPath(prefix, e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${fieldPath(field === 'config' ? '' : field, `/${String(e.params.additionalProperty)}`)} is not a known key`;
    case 'required':
      return `${fieldPath(field === 'config' ? '' : field, `/${String(e.params.missingProperty)}`)} is required`;
    case 'enum':
      return `${field} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${field} ${e.message ?? 'is invalid'}`;
  }
}
