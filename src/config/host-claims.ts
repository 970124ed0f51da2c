import type { ConfigIssue } from './issues.ts';

/** A cluster's claim on host names, with the field path its list is at (`clusters[2].hosts`). */
export interface HostClaim {
  readonly cluster: string;
  readonly hosts: readonly string[] | undefined;
  readonly path: string;
}

/**
 * Host names claimed by two clusters: each later claim is an issue at its exact field, naming the
 * first claimant. A name is compared in lower case; `*.x` and `a.x` are different names (the exact
 * one wins at run time), so only the same spelling clashes.
 */
export function hostClashes(claims: readonly HostClaim[]): ConfigIssue[] {
  const owner = new Map<string, HostClaim>();
  const issues: ConfigIssue[] = [];
  for (const c of claims)
    c.hosts?.forEach((raw, j) => {
      const h = raw.toLowerCase();
      const first = owner.get(h);
      if (first === undefined) owner.set(h, c);
      else if (first.cluster !== c.cluster)
        issues.push({
          path: `${c.path}[${j}]`,
          message: `host "${h}" is already claimed by cluster "${first.cluster}" (${first.path}); a host name belongs to one cluster`,
        });
    });
  return issues;
}
