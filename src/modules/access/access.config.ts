import type { EnvReader } from '../../core/config.ts';
import { normaliseCidr } from './ip-address.ts';

export interface AccessConfig {
  /**
   * Proxies whose `X-Forwarded-For` is believed (`ATRIUM_TRUSTED_PROXIES`: comma-separated addresses or CIDR
   * blocks; empty by default). Without one, IP rules see the socket peer only.
   */
  trustedProxies: string[];
}

export function parseAccessConfig(env: EnvReader): AccessConfig {
  const raw = (env.str('ATRIUM_TRUSTED_PROXIES') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const trustedProxies: string[] = [];
  for (const entry of raw) {
    const cidr = normaliseCidr(entry);
    if (cidr === undefined) env.problem(`ATRIUM_TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR block`);
    else trustedProxies.push(cidr);
  }
  return { trustedProxies };
}
