/**
 * The bucket (of `buckets`) and tag of a key in a shared hash table: two independent 32-bit FNV-1a
 * hashes (different offset bases) of its UTF-16 code units; the tag as an Int32Array stores it
 * (signed), never 0 (an empty way).
 */
export function bucketAndTag(key: string, buckets: number): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return [(a >>> 0) % buckets, b | 0 || 1];
}
