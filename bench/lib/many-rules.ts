/** The reload scenario's rules: `count` rules none of the bench's requests match; `gen` changes names and limits. */
export function manyRules(count: number, gen: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `team-${i}-g${gen}`,
    match: { users: [`team-${i}-*`], verbs: ['get', 'list'] },
    limits: { qps: 10 + gen, burst: 20, maxInflightReadOnly: 50 },
  }));
}
