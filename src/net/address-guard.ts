import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where outbound requests chosen by tenants (webhooks, job callbacks) may connect: public unicast
 * addresses only, unless the operator's allowlist opens a network. Without it a tenant could make
 * the server post to its own loopback, the private network behind it, or a cloud metadata service,
 * and read port states from the answers (issue 19).
 *
 * Classification is ipaddr.js's (the table Fastify's proxy handling uses): every range it names
 * other than `unicast` is refused, which covers loopback, RFC 1918, link-local (169.254.169.254),
 * unique-local (fc00::/7, fd00:ec2::254), multicast, broadcast, unspecified, CGNAT 100.64/10,
 * documentation and reserved blocks, and the IPv6 forms that carry an IPv4 address to elsewhere
 * (NAT64, 6to4, Teredo). IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 it maps.
 */

/** IPv4-compatible IPv6 (::a.b.c.d, deprecated): ipaddr.js calls it unicast; no public host uses it. */
const EXTRA_BLOCKED: [ipaddr.IPv6, number][] = [ipaddr.IPv6.parseCIDR('::/96')];

/** Names of the refused ranges as a user reads them. */
const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback',
  private: 'a private (RFC 1918)',
  linkLocal: 'a link-local (and cloud metadata)',
  uniqueLocal: 'a unique-local (fc00::/7)',
  multicast: 'a multicast',
  broadcast: 'a broadcast',
  unspecified: 'an unspecified',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10)',
};

/** An outbound connection refused by the guard; `message` says why without naming the address. */
export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';
}

export class AddressGuard {
  private readonly allowed: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  /**
   * @param allow networks opened by the operator (config `webhooks.allowPrivateNetworks`): CIDRs
   *   (`10.0.0.0/8`, `fd00::/8`) or single addresses (`127.0.0.1`). Throws naming a bad entry.
   */
  constructor(allow: readonly string[] = []) {
    this.allowed = allow.map((entry, i) => {
      try {
        if (entry.includes('/')) return ipaddr.parseCIDR(entry);
        const address = ipaddr.parse(entry);
        return [address, address.kind() === 'ipv4' ? 32 : 128];
      } catch {
        throw new Error(`allowPrivateNetworks/${i}: "${entry}" is not an IP address or CIDR (e.g. 127.0.0.1/32, 10.0.0.0/8, fd00::/8)`);
      }
    });
  }

  /** Why `address` (an IP literal) may not be connected to, or null when it may. */
  refusal(address: string): string | null {
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // process(): an IPv4-mapped IPv6 address becomes the IPv4 address it maps.
      parsed = ipaddr.process(address.replace(/^\[|\]$/g, ''));
    } catch {
      return `"${address}" is not an IP address`;
    }
    if (this.allowed.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits))) return null;
    const range = parsed.range();
    if (range === 'unicast' && !(parsed.kind() === 'ipv6' && EXTRA_BLOCKED.some(([net, bits]) => parsed.match(net, bits)))) return null;
    return `${RANGE_NAMES[range] ?? `a reserved (${range})`} address`;
  }

  /**
   * Why the target of `url` may not be used, or null: its host when it is an address, else every
   * address the name resolves to now. A name that does not resolve now passes (DNS may be down;
   * each delivery checks the address it connects to). The refusal names the address only when the
   * URL spelled it, so a tenant cannot map internal names through it.
   */
  async urlRefusal(url: string): Promise<string | null> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const why = this.refusal(host);
      return why && `${host} is ${why}: webhooks and callbacks may only go to public addresses`;
    }
    const addresses = await new Promise<LookupAddress[]>((resolve) => dnsLookup(host, { all: true }, (err, list) => resolve(err ? [] : list)));
    const refused = addresses.map((a) => this.refusal(a.address)).find((why) => why !== null);
    return refused ? `${host} resolves to ${refused}: webhooks and callbacks may only go to public addresses` : null;
  }

  /**
   * A `lookup` for http.request / net.connect that resolves as usual and drops refused addresses,
   * failing with BlockedAddressError when none is left. The check applies to the very address the
   * socket connects to, so a name that resolved to a public address when the subscription was made
   * and to an internal one now (DNS rebinding) is refused. IP literals never reach a lookup: check
   * them with `refusal` before connecting.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const open = addresses.filter((a) => this.refusal(a.address) === null);
      if (open.length === 0) return callback(new BlockedAddressError(`${hostname} resolves only to non-public addresses`), '', 0);
      if (options.all) return (callback as unknown as (e: null, list: LookupAddress[]) => void)(null, open);
      return callback(null, open[0]!.address, open[0]!.family);
    });
  };
}
