import type { Logger } from 'pino';
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../../kube/client.ts';

export type EventType = 'Normal' | 'Warning';

/**
 * Records core/v1 Events about pods, as the kubelet does (source component `kubelet`, the node as
 * host). Repeats of the same reason and message within a pod bump the count of one Event.
 */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #node: string;
  readonly #log: Logger;
  readonly #seen = new Map<string, { name: string; count: number }>();

  constructor(client: KubeClient, node: string, log: Logger) {
    this.#client = client;
    this.#node = node;
    this.#log = log;
  }

  emit(pod: V1Pod, type: EventType, reason: string, message: string, fieldPath?: string): void {
    void this.#emit(pod, type, reason, message, fieldPath).catch((err: Error) =>
      this.#log.warn({ reason, err: err.message }, 'could not record an event'),
    );
  }

  /** Forgets a pod's events (it is gone). */
  forget(uid: string): void {
    for (const k of this.#seen.keys()) if (k.startsWith(`${uid}/`)) this.#seen.delete(k);
  }

  async #emit(
    pod: V1Pod,
    type: EventType,
    reason: string,
    message: string,
    fieldPath?: string,
  ): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const uid = pod.metadata!.uid!;
    const key = `${uid}/${fieldPath ?? ''}/${reason}/${message}`;
    const now = new Date().toISOString();
    const path = `/api/v1/namespaces/${ns}/events`;
    const seen = this.#seen.get(key);
    if (seen) {
      seen.count++;
      const res = await this.#client.raw('PATCH', `${path}/${seen.name}`, {
        count: seen.count,
        lastTimestamp: now,
      });
      if (res.status === 200) return;
    }
    const name = `${pod.metadata!.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    this.#seen.set(key, { name, count: 1 });
    await this.#client.json('POST', path, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        name: pod.metadata!.name,
        uid,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.#node },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: 'kubelet',
      reportingInstance: this.#node,
    });
  }
}
