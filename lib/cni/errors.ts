// The CNI error model: every failure leaves the plugin as one of these, printed as JSON on stdout.
import { BusyError, TimeoutError } from '../base/errors.js';

/** Well-known error codes of the CNI spec 1.1.0 (section "Error"), plus the reference's internal 999. */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

export type WellKnownCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes 100 and up belong to plugins; ours are listed here so they stay unique across the suite. */
export const PluginCode = {
  NotImplemented: 100,
  RangeExhausted: 101,
  AddressInUse: 102,
  CheckFailed: 103,
  PeerNotOnLink: 104,
  /** ADD of an attachment whose host link exists: it is attached already (DEL it first). */
  AlreadyAttached: 105,
  /** portmap: a host port another attachment holds. */
  PortInUse: 106,
} as const;

export type CniCode = WellKnownCode | (typeof PluginCode)[keyof typeof PluginCode];

export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;

  constructor(code: number, msg: string, options: { details?: string; cause?: unknown } = {}) {
    super(msg, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CniError';
    this.code = code;
    this.details = options.details;
  }

  /** The spec's error object; cniVersion is the one the caller asked for. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    const out: { cniVersion: string; code: number; msg: string; details?: string } = {
      cniVersion,
      code: this.code,
      msg: this.message,
    };
    if (this.details) out.details = this.details;
    return out;
  }
}

/**
 * Any thrown value as a CniError: ours pass through; what lib/sys says was transient (a child timed
 * out, a lock stayed busy) is 11, so the runtime retries; the rest become 999 with their message.
 */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof TimeoutError || err instanceof BusyError)
    return new CniError(ErrorCode.TryAgainLater, err.message, { cause: err });
  if (err instanceof Error) return new CniError(ErrorCode.Internal, err.message, { cause: err });
  return new CniError(ErrorCode.Internal, String(err));
}

export const configError = (msg: string): CniError => new CniError(ErrorCode.InvalidConfig, msg);
