import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY = join(ROOT, 'deploy');

/** A Kubernetes object as read from a manifest; tests reach into it by path. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
}

export interface Kustomization {
  namespace: string;
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
}

export function kustomization(): Kustomization {
  return parse(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/** Every object the base's resources hold, as written (before kustomize sets namespaces). */
export function manifests(): Manifest[] {
  return kustomization().resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((d) => d.toJS() as Manifest),
  );
}

/** The one object of a kind (and name, when given). */
export function find(kind: string, name?: string): Manifest {
  const all = manifests().filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (all.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${all.length}`);
  return all[0];
}

/** The gateway configuration the ConfigMap carries. */
export function configFile(): { path: string; text: string } {
  const gen = kustomization().configMapGenerator.find((g) => g.name === 'kubegate-config');
  if (!gen) throw new Error('no kubegate-config generator');
  const path = join(DEPLOY, gen.files[0]);
  return { path, text: readFileSync(path, 'utf8') };
}
