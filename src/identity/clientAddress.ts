/**
 * The client's address behind trusted proxies. X-Forwarded-For is believed only when the socket peer
 * is a trusted proxy, and then read right to left past every trusted hop, so a client cannot pick its
 * own address by sending the header itself.
 */
import { BlockList, isIPv6 } from 'node:net';

/** The `identity.trustedProxies` entries (addresses and CIDR blocks, validated by the schema) as a BlockList. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const trusted = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(addr!, type);
    else trusted.addSubnet(addr!, Number(bits), type);
  }
  return trusted;
}

/**
 * The client's address: the rightmost hop of `chain` (the X-Forwarded-For value of a request whose
 * peer is trusted) that is not itself a trusted proxy, or `peer` when the chain names nobody.
 */
export function clientAddress(peer: string, chain: string, trusted: BlockList): string {
  let clientIp = peer;
  const hops = chain.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = stripV4Mapped(hops[i]!.trim());
    if (hop === '') continue;
    clientIp = hop;
    if (!trusted.check(hop, hop.includes(':') ? 'ipv6' : 'ipv4')) break;
  }
  return clientIp;
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
export function stripV4Mapped(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
