import { gobgpInterop } from './bgp-gobgp-interop.ts';

gobgpInterop({
  name: 'with gobgpd 3 (Debian)',
  lab: 'gobgp',
  gobgpd: 'gobgpd',
  gobgp: 'gobgp',
  version: /gobgpd version 3\./,
});
