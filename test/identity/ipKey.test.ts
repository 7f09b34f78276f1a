import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { INVALID_IP_KEY, ipKey } from '../../src/identity/ipKey.js';

describe('ipKey', () => {
  it('keys IPv4 addresses as they are', () => {
    expect(ipKey('203.0.113.7', 64)).toBe('ip:203.0.113.7');
    expect(ipKey('203.0.113.8', 64)).toBe('ip:203.0.113.8');
  });

  it('gives two addresses in one /64 the same key', () => {
    const a = ipKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64);
    const b = ipKey('2001:db8:1:2::1', 64);
    expect(a).toBe('ip:2001:db8:1:2::/64');
    expect(b).toBe(a);
  });

  it('gives addresses in different /64s different keys', () => {
    expect(ipKey('2001:db8:1:2::1', 64)).not.toBe(ipKey('2001:db8:1:3::1', 64));
  });

  it('uses the configured prefix', () => {
    expect(ipKey('2001:db8:1:2::1', 48)).toBe('ip:2001:db8:1::/48');
    expect(ipKey('2001:db8:1:3::1', 48)).toBe(ipKey('2001:db8:1:2::1', 48));
    expect(ipKey('2001:db8:1:2:3:4:5:6', 128)).toBe('ip:2001:db8:1:2:3:4:5:6/128');
    expect(ipKey('2001:db8:1:2:3:4:5:6', 128)).not.toBe(ipKey('2001:db8:1:2:3:4:5:7', 128));
    // Prefixes that cut a group in half.
    expect(ipKey('2001:db8:abcd:ffff::1', 56)).toBe('ip:2001:db8:abcd:ff00::/56');
    expect(ipKey('2001:db8:abcd:ffff::1', 1)).toBe('ip:::/1');
    expect(ipKey('ffff:db8::1', 4)).toBe('ip:f000::/4');
  });

  it('writes the same prefix the same way however the address was written', () => {
    const forms = ['2001:DB8:0:0:1:2:3:4', '2001:0db8:0000:0000:0001:0002:0003:0004', '2001:db8::1:2:3:4'];
    expect(new Set(forms.map((f) => ipKey(f, 64)))).toEqual(new Set(['ip:2001:db8::/64']));
    expect(ipKey('2001:db8:0:0:1:0:0:1', 128)).toBe('ip:2001:db8::1:0:0:1/128');
    expect(ipKey('::1', 128)).toBe('ip:::1/128');
    expect(ipKey('::', 64)).toBe('ip:::/64');
    expect(ipKey('1:2:3:4:5:6:7:8', 128)).toBe('ip:1:2:3:4:5:6:7:8/128');
  });

  it('keys IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(ipKey('::ffff:203.0.113.7', 64)).toBe('ip:203.0.113.7');
    expect(ipKey('::ffff:cb00:7107', 64)).toBe('ip:203.0.113.7');
  });

  it('ignores a zone id', () => {
    expect(ipKey('fe80::1%eth0', 64)).toBe('ip:fe80::/64');
  });

  it('puts every unparseable address in one shared bucket', () => {
    for (const bad of ['', 'unknown', '1.2.3', '300.1.1.1', 'gggg::1', '1.2.3.4:80', '01.2.3.4']) {
      expect(ipKey(bad, 64), bad).toBe(INVALID_IP_KEY);
    }
  });
});

describe('ipKey against node:net and the WHATWG URL parser', () => {
  it('accepts exactly the addresses net.isIP accepts', () => {
    const inputs = [
      '::',
      '::1',
      '1::',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7::',
      '::2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4::5:6:7:8',
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8::',
      '1::2:',
      '1:2:3:4:5:6:7',
      '1::2::3',
      ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:',
      '1:::2',
      '12345::1',
      'g::1',
      '::ffff:1.2.3.4',
      '::1.2.3.4',
      '1:2:3:4:5:6:1.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      '::ffff:1.2.3',
      '::ffff:1.2.3.4.5',
      '::ffff:01.2.3.4',
      '::ffff:256.2.3.4',
      '1.2.3.4::',
      'ABCD:EF01::',
      ':',
      ':::',
      '0.0.0.0',
      '255.255.255.255',
      '256.0.0.0',
      '1.2.3.4.',
      '.1.2.3.4',
      '1..2.3',
      '00.1.2.3',
      ' 1.2.3.4',
    ];
    for (const input of inputs) expect(ipKey(input, 128) !== INVALID_IP_KEY, input).toBe(isIP(input) !== 0);
  });

  it('writes random addresses the way the URL parser does (RFC 5952)', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 2000; n++) {
      const groups = Array.from({ length: 8 }, () => (random() < 0.4 ? 0 : Math.floor(random() * 0x10000)));
      if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) continue; // IPv4-mapped, keyed as IPv4
      const text = groups.map((g) => (random() < 0.5 ? g.toString(16).toUpperCase() : g.toString(16).padStart(4, '0'))).join(':');
      const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      expect(ipKey(text, 128), text).toBe(`ip:${canonical}/128`);
      expect(ipKey(canonical, 128), canonical).toBe(`ip:${canonical}/128`);
    }
  });
});
