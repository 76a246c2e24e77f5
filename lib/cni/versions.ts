// Spec versions this suite speaks, and the comparisons the protocol needs.

export const SPEC_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];
export const CURRENT_VERSION: SpecVersion = '1.1.0';

export function isSpecVersion(v: unknown): v is SpecVersion {
  return typeof v === 'string' && (SPEC_VERSIONS as readonly string[]).includes(v);
}

/** Compares two dotted versions numerically; NaN parts sort first. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const atLeast = (v: string, min: SpecVersion): boolean => compareVersions(v, min) >= 0;

/** Result shapes differ at these boundaries: <0.3.0 (ip4/ip6), 0.3.x–0.4.0 (ips with version), 1.x. */
export type ResultFamily = 'legacy' | 'ips-versioned' | 'v1';

export function resultFamily(v: SpecVersion): ResultFamily {
  switch (v) {
    case '0.1.0':
    case '0.2.0':
      return 'legacy';
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return 'ips-versioned';
    case '1.0.0':
    case '1.1.0':
      return 'v1';
  }
}
