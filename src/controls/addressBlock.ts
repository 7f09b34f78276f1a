/** Addresses and CIDR blocks as blocks name them: checked when a block is made, matched with node:net's BlockList. */
import { BlockList, isIP } from 'node:net';

/** What is wrong with an address or CIDR block (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`), or null. */
export function addressProblem(value: string): string | null {
  const [addr, bits, extra] = value.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || extra !== undefined) return 'expected an IP address or CIDR block like 203.0.113.7 or 10.0.0.0/8';
  if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128))) {
    return `expected a prefix length of 0 to ${family === 4 ? 32 : 128} after the /`;
  }
  return null;
}

/** Adds a checked address or CIDR block to `list`. */
export function addAddressBlock(list: BlockList, value: string): BlockList {
  const [addr, bits] = value.split('/') as [string, string | undefined];
  const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) list.addAddress(addr, type);
  else list.addSubnet(addr, Number(bits), type);
  return list;
}

/** Whether `ip` (a client address, IPv4-mapped already unwrapped) is in `list`. */
export function inList(list: BlockList, ip: string): boolean {
  return ip !== '' && list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
}
