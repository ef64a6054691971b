package dev.scalebox.network;

import dev.scalebox.host.ProgramRunner;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Scalebox's nftables rules, in two tables named after the bridge: {@code bridge NAME} binds each
 * TAP device to its guest's MAC and address (a guest that forges either is dropped, so the rules
 * below can trust a source address) and keeps guests from reaching each other;
 * {@code inet NAME} keeps guests from the host but for DHCP and DNS, applies each guest's egress,
 * masquerades what leaves, and forwards each VM's SSH port to its address. Both are rebuilt whole
 * in one {@code nft} transaction, so a rebuild is idempotent and never leaves a moment without
 * rules; connections already made keep their NAT in conntrack.
 *
 * <p>A TCP connection to a guest that does not run (it has no TAP device: it is stopped or
 * suspended) is reset at once, not left to time out on ARP: so Caddy sends a request for a
 * suspended VM to the wake endpoint without waiting, and an SSH client is told straight away.
 */
final class Firewall {

    /** Never reachable under {@code internet}: private, shared, link-local, loopback, multicast and reserved space. */
    private static final String NON_PUBLIC = "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16,"
            + " 172.16.0.0/12, 192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/3";
    /** The resolver address of QEMU's user-mode network, which images made for it have in resolv.conf. */
    private static final String USER_MODE_DNS = "10.0.2.3";

    private final ProgramRunner runner;
    private final NetworkConfig config;

    Firewall(ProgramRunner runner, NetworkConfig config) {
        this.runner = runner;
        this.config = config;
    }

    void apply(Collection<Guest> guests) {
        nft(ruleset(guests));
    }

    /** The guest at {@code ip} runs (true) or not: connections to it are let through, or reset. */
    void running(String ip, boolean running) {
        String element = " element inet " + config.bridge() + " down { " + ip + " }\n";
        // Deleting an element that is not there is an error; adding it first (which may repeat) makes it safe.
        nft(running ? "add" + element + "delete" + element : "add" + element);
    }

    private void nft(String script) {
        runner.check(List.of("nft", "-f", "-"), Duration.ofSeconds(30), script.getBytes(StandardCharsets.UTF_8), line -> { });
    }

    /** Removes both tables. */
    void remove() {
        nft(dropTables(config.bridge()));
    }

    /** Deletes both tables, whether they exist or not (an empty declaration first makes the delete safe). */
    private static String dropTables(String name) {
        return "table bridge " + name + " {}\ndelete table bridge " + name + "\ntable inet " + name + " {}\ndelete table inet "
                + name + "\n";
    }

    String ruleset(Collection<Guest> guests) {
        String name = config.bridge();
        String br = quote(name);
        String gw = Subnet.format(config.subnet().gateway());
        String subnet = config.subnet().toString();
        StringBuilder nft = new StringBuilder();
        nft.append(dropTables(name));

        nft.append("table bridge ").append(name).append(" {\n");
        set(nft, "taps", "ifname", guests.stream().map(g -> quote(g.tap())));
        set(nft, "macs", "ifname . ether_addr", guests.stream().map(g -> quote(g.tap()) + " . " + g.mac()));
        set(nft, "addrs", "ifname . ipv4_addr", guests.stream().map(g -> quote(g.tap()) + " . " + g.ip()));
        nft.append("""
                  chain prerouting {
                    type filter hook prerouting priority -200; policy accept;
                    iifname != @taps accept
                    iifname . ether saddr != @macs drop
                    ether type != { ip, arp } drop
                    arp saddr ip != 0.0.0.0 iifname . arp saddr ip != @addrs drop
                    ip saddr 0.0.0.0 udp dport 67 accept
                    ether type ip iifname . ip saddr != @addrs drop
                  }
                  chain forward {
                    type filter hook forward priority 0; policy accept;
                    iifname @taps drop
                  }
                }
                """);

        nft.append("table inet ").append(name).append(" {\n");
        nft.append("  set non_public { type ipv4_addr; flags interval; elements = { ").append(NON_PUBLIC).append(" } }\n");
        set(nft, "ssh", "inet_service : ipv4_addr . inet_service", guests.stream()
                .filter(g -> g.sshPort() > 0).map(g -> g.sshPort() + " : " + g.ip() + " . 22"));
        set(nft, "egress", "ipv4_addr : verdict", guests.stream().map(g -> g.ip() + " : jump " + chainOf(g)));
        set(nft, "down", "ipv4_addr", guests.stream().filter(g -> !Files.exists(Path.of("/sys/class/net", g.tap())))
                .map(Guest::ip));
        String local = config.forwardsWildcard() ? "fib daddr type local" : "ip daddr " + config.bindAddress();
        nft.append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n")
                .append("    iifname ").append(br).append(" ip daddr ").append(USER_MODE_DNS)
                .append(" meta l4proto { tcp, udp } th dport 53 dnat ip to ").append(gw).append('\n');
        if (!config.forwardsLoopbackOnly()) {
            nft.append("    ").append(local).append(" dnat ip to tcp dport map @ssh\n");
        }
        nft.append("  }\n");
        nft.append("  chain output {\n    type nat hook output priority -100; policy accept;\n    ")
                .append(local).append(" dnat ip to tcp dport map @ssh\n  }\n");
        nft.append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n")
                .append("    oifname ").append(br).append(" ip saddr 127.0.0.0/8 masquerade\n")
                .append("    ip saddr ").append(subnet).append(" ip daddr != ").append(subnet).append(" masquerade\n  }\n");
        nft.append("  chain output_filter {\n    type filter hook output priority filter; policy accept;\n")
                .append("    ip daddr @down meta l4proto tcp reject with tcp reset\n  }\n");
        nft.append("  chain input {\n    type filter hook input priority filter; policy accept;\n")
                .append("    iifname != ").append(br).append(" accept\n")
                .append("    ct state established,related accept\n")
                .append("    udp dport 67 accept\n")
                .append("    ip daddr ").append(gw).append(" meta l4proto { tcp, udp } th dport 53 accept\n")
                .append("    drop\n  }\n");
        nft.append("  chain forward {\n    type filter hook forward priority filter; policy accept;\n")
                .append("    iifname ").append(br).append(" oifname ").append(br).append(" drop\n")
                .append("    iifname ").append(br).append(" ct state established,related accept\n")
                .append("    oifname ").append(br).append(" ct state established,related accept\n")
                .append("    oifname ").append(br).append(" ip daddr @down meta l4proto tcp reject with tcp reset\n")
                .append("    oifname ").append(br).append(" ct status dnat accept\n")
                .append("    iifname ").append(br).append(" ip saddr vmap @egress\n")
                .append("    iifname ").append(br).append(" drop\n")
                .append("    oifname ").append(br).append(" drop\n  }\n");
        nft.append("  chain to_internet {\n    ip daddr @non_public drop\n    accept\n  }\n");
        nft.append("  chain to_all {\n    accept\n  }\n");
        nft.append("  chain to_none {\n    drop\n  }\n");
        for (Guest g : guests) {
            if (g.egress().kind() == Egress.Kind.LIST) {
                nft.append("  chain ").append(chainOf(g)).append(" {\n");
                for (Egress.Allowed a : g.egress().allowed()) {
                    nft.append("    ip daddr ").append(a.net());
                    if (a.port() != 0) {
                        nft.append(" meta l4proto { tcp, udp } th dport ").append(a.port());
                    }
                    nft.append(" accept\n");
                }
                nft.append("    drop\n  }\n");
            }
        }
        nft.append("}\n");
        return nft.toString();
    }

    private static String chainOf(Guest g) {
        return switch (g.egress().kind()) {
            case INTERNET -> "to_internet";
            case ALL -> "to_all";
            case NONE -> "to_none";
            case LIST -> "to_list_" + g.tap();
        };
    }

    private static void set(StringBuilder nft, String name, String type, java.util.stream.Stream<String> elements) {
        String listed = elements.collect(Collectors.joining(", "));
        nft.append("  ").append(type.contains(":") ? "map " : "set ").append(name).append(" { type ").append(type).append(';');
        if (!listed.isEmpty()) {
            nft.append(" elements = { ").append(listed).append(" }");
        }
        nft.append(" }\n");
    }

    private static String quote(String name) {
        return "\"" + name + "\"";
    }
}
