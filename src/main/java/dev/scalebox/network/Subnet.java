package dev.scalebox.network;

import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * An IPv4 network, {@code 10.77.0.0/16}. The guests' subnet gives its first host address to the
 * bridge and the rest, in order, to VMs.
 */
public record Subnet(int network, int prefix) {

    private static final Pattern FORM = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})(?:/(\\d{1,2}))?");

    /** {@code A.B.C.D/N}, or a single address as a /32; empty when it is neither. */
    public static Optional<Subnet> parse(String text) {
        var m = FORM.matcher(text.strip());
        if (!m.matches()) {
            return Optional.empty();
        }
        int address = 0;
        for (int i = 1; i <= 4; i++) {
            int octet = Integer.parseInt(m.group(i));
            if (octet > 255) {
                return Optional.empty();
            }
            address = (address << 8) | octet;
        }
        int prefix = m.group(5) == null ? 32 : Integer.parseInt(m.group(5));
        if (prefix > 32) {
            return Optional.empty();
        }
        if ((address & ~mask(prefix)) != 0) {
            return Optional.empty();  // host bits set: 10.0.0.1/8 is a typo for something
        }
        return Optional.of(new Subnet(address, prefix));
    }

    private static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    public static String format(int address) {
        return (address >>> 24) + "." + ((address >>> 16) & 255) + "." + ((address >>> 8) & 255) + "." + (address & 255);
    }

    public boolean contains(int address) {
        return (address & mask(prefix)) == network;
    }

    /** The bridge's address: the first host address. */
    public int gateway() {
        return network + 1;
    }

    /** The lowest address after the gateway's that is not in {@code taken}; empty when all are. */
    public Optional<String> firstFree(Set<String> taken) {
        long last = (network & 0xffffffffL) + (1L << (32 - prefix)) - 2;  // before the broadcast address
        for (long a = (network & 0xffffffffL) + 2; a <= last; a++) {
            String address = format((int) a);
            if (!taken.contains(address)) {
                return Optional.of(address);
            }
        }
        return Optional.empty();
    }

    public String netmask() {
        return format(mask(prefix));
    }

    @Override
    public String toString() {
        return format(network) + "/" + prefix;
    }

    /** The MAC of the guest at {@code address}: locally administered, 52:54 and the address's four bytes. */
    public static String macOf(String address) {
        int a = parse(address).filter(s -> s.prefix() == 32).orElseThrow(() ->
                new IllegalArgumentException(address + " is not an address")).network();
        return String.format("52:54:%02x:%02x:%02x:%02x", a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
    }
}
