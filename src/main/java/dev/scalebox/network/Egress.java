package dev.scalebox.network;

import dev.scalebox.ScaleboxException;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where a guest may connect to, beyond the host (which it never reaches but for DHCP and DNS)
 * and the other guests (never): {@code internet}, public addresses only; {@code all}, the
 * private ranges (the operator's LAN) too; {@code none}; or an allow list of addresses and
 * networks, each for every port or for one.
 */
public record Egress(Kind kind, List<Allowed> allowed) {

    public enum Kind { INTERNET, ALL, NONE, LIST }

    /** An allowed destination; {@code port} 0 for every port. */
    public record Allowed(Subnet net, int port) {
        @Override
        public String toString() {
            return net.prefix() == 32 ? Subnet.format(net.network()) + (port == 0 ? "" : ":" + port)
                    : net + (port == 0 ? "" : ":" + port);
        }
    }

    public static final Egress INTERNET = new Egress(Kind.INTERNET, List.of());
    private static final int MAX_ENTRIES = 256;
    private static final Pattern ENTRY = Pattern.compile("([0-9./]+)(?::(\\d{1,5}))?");

    /** {@code internet}, {@code all} or {@code none}. */
    public static Egress named(String word) {
        return switch (word) {
            case "internet" -> INTERNET;
            case "all" -> new Egress(Kind.ALL, List.of());
            case "none" -> new Egress(Kind.NONE, List.of());
            default -> throw new ScaleboxException.BadRequest("egress must be \"internet\", \"all\", \"none\" or a list"
                    + " of \"CIDR\" or \"CIDR:port\", not \"" + word + "\"");
        };
    }

    /** An allow list of {@code A.B.C.D}, {@code A.B.C.D/N}, each optionally {@code :PORT}. */
    public static Egress allow(List<String> entries) {
        if (entries.size() > MAX_ENTRIES) {
            throw new ScaleboxException.BadRequest("egress allows at most " + MAX_ENTRIES + " entries");
        }
        List<Allowed> allowed = new ArrayList<>();
        for (String entry : entries) {
            var m = ENTRY.matcher(entry);
            var net = m.matches() ? Subnet.parse(m.group(1)) : java.util.Optional.<Subnet>empty();
            int port = m.matches() && m.group(2) != null ? Integer.parseInt(m.group(2)) : 0;
            if (net.isEmpty() || (m.group(2) != null && (port < 1 || port > 65535))) {
                throw new ScaleboxException.BadRequest("egress entry \"" + entry + "\" is not an IPv4 address or"
                        + " network (A.B.C.D or A.B.C.D/N with no host bits set), optionally followed by :PORT (1-65535)");
            }
            allowed.add(new Allowed(net.get(), port));
        }
        return new Egress(Kind.LIST, List.copyOf(allowed));
    }

    /** The form kept in the store: the word, or {@code allow:} and the entries. */
    public String stored() {
        return kind == Kind.LIST ? "allow:" + String.join(",", entries()) : kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Egress ofStored(String stored) {
        if (stored == null) {
            return INTERNET;
        }
        if (stored.startsWith("allow:")) {
            String list = stored.substring("allow:".length());
            return allow(list.isEmpty() ? List.of() : List.of(list.split(",")));
        }
        return named(stored);
    }

    /** As the API shows it: the word, or the list. */
    public Object json() {
        return kind == Kind.LIST ? entries() : kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    private List<String> entries() {
        return allowed.stream().map(Allowed::toString).toList();
    }
}
