import { KeyedCap, SharedKeyedCap, allocateSharedKeyedCap } from '../../../src/policy/index.ts';
import { keyedLimitConformance } from './keyed-limit-conformance.ts';

keyedLimitConformance('KeyedCap', (max) => new KeyedCap(max));
keyedLimitConformance('SharedKeyedCap', (max) => new SharedKeyedCap(allocateSharedKeyedCap(), max));
