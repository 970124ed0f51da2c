import type { Logger } from 'pino';
import type { JSONClient } from '../kube/client.ts';

/** A field of an object the agent cannot express (from the Service proxy or the policy compiler). */
export interface NodeProblem {
  readonly object: { readonly kind: string; readonly namespace: string; readonly name: string };
  readonly field: string;
  readonly message: string;
}

const API_VERSION: Record<string, string> = {
  Service: 'v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  Pod: 'v1',
};

/**
 * Turns problems into Warning Events on their objects and log lines, once per problem while it
 * lasts: a problem that goes away and comes back is reported again.
 */
export class ProblemReporter {
  readonly #client: JSONClient;
  readonly #log: Logger;
  readonly #nodeName: string;
  #reported = new Set<string>();

  constructor(client: JSONClient, log: Logger, nodeName: string) {
    this.#client = client;
    this.#log = log;
    this.#nodeName = nodeName;
  }

  report(problems: readonly NodeProblem[]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const k = `${p.object.kind}/${p.object.namespace}/${p.object.name}|${p.field}|${p.message}`;
      now.add(k);
      if (this.#reported.has(k)) continue;
      this.#log.warn({ kind: 'problem', object: p.object, field: p.field }, p.message);
      void this.#event(p);
    }
    this.#reported = now;
  }

  async #event(p: NodeProblem): Promise<void> {
    const ns = p.object.namespace || 'default';
    const time = new Date().toISOString();
    try {
      await this.#client.json('POST', `/api/v1/namespaces/${ns}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${p.object.name}.`, namespace: ns },
        involvedObject: {
          apiVersion: API_VERSION[p.object.kind] ?? 'v1',
          kind: p.object.kind,
          namespace: p.object.namespace,
          name: p.object.name,
        },
        reason: 'NotProgrammed',
        message: `${p.field}: ${p.message}`,
        type: 'Warning',
        source: { component: 'kubegate-node', host: this.#nodeName },
        reportingComponent: 'kubegate.io/node',
        reportingInstance: this.#nodeName,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      });
    } catch (err) {
      this.#log.warn({ kind: 'event', err: (err as Error).message }, 'could not write an Event');
    }
  }
}
