package dev.scalebox.testing;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Hosts on one machine: each a network namespace joined by a veth pair to a test bridge, on a
 * /24 of its own under 10.251/16. The bridge takes {@code .1}; host {@code i} takes {@code .(11+i)}
 * on its {@code eth0}. Whatever a run left behind (namespaces and bridges named {@code sbc…}) is
 * removed before a new one is made; {@link #close} removes this one.
 */
public final class Netns implements AutoCloseable {

    private static final String PREFIX = "sbc";

    private final String bridge;
    private final String subnet;
    private final List<String> namespaces = new ArrayList<>();

    private Netns(String bridge, String subnet) {
        this.bridge = bridge;
        this.subnet = subnet;
    }

    public static Netns create(int hosts) {
        removeStale();
        byte[] id = new byte[3];
        new SecureRandom().nextBytes(id);
        Netns net = new Netns(PREFIX + HexFormat.of().formatHex(id), "10.251." + (id[0] & 0xff) + ".");
        try {
            Sh.run("ip", "link", "add", net.bridge, "type", "bridge");
            Sh.run("ip", "addr", "add", net.bridgeAddress() + "/24", "dev", net.bridge);
            Sh.run("ip", "link", "set", net.bridge, "up");
            for (int i = 0; i < hosts; i++) {
                String ns = net.bridge + "-" + i;
                String veth = net.bridge + "v" + i;
                Sh.run("ip", "netns", "add", ns);
                net.namespaces.add(ns);
                Sh.run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
                Sh.run("ip", "link", "set", veth, "master", net.bridge, "up");
                Sh.run("ip", "-n", ns, "addr", "add", net.address(i) + "/24", "dev", "eth0");
                Sh.run("ip", "-n", ns, "link", "set", "eth0", "up");
                Sh.run("ip", "-n", ns, "link", "set", "lo", "up");
            }
            return net;
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    /** The host side of the bridge, where services for all the hosts listen. */
    public String bridgeAddress() {
        return subnet + "1";
    }

    public String cidr() {
        return subnet + "0/24";
    }

    public String address(int host) {
        return subnet + (11 + host);
    }

    /** {@code pb}'s command run inside host {@code host}'s namespace. */
    public ProcessBuilder inside(int host, ProcessBuilder pb) {
        pb.command().addAll(0, List.of("ip", "netns", "exec", namespaces.get(host)));
        return pb;
    }

    @Override
    public void close() {
        namespaces.forEach(ns -> Sh.tryRun("ip", "netns", "del", ns));
        Sh.tryRun("ip", "link", "del", bridge);
    }

    private static void removeStale() {
        for (String ns : Sh.run("ip", "netns", "list").lines().map(l -> l.split(" ", 2)[0]).toList()) {
            if (ns.startsWith(PREFIX)) {
                Sh.tryRun("ip", "netns", "del", ns);
            }
        }
        for (String line : Sh.run("ip", "-o", "link", "show", "type", "bridge").lines().toList()) {
            String name = line.split(":\\s+", 3)[1].split("@", 2)[0];
            if (name.startsWith(PREFIX)) {
                Sh.tryRun("ip", "link", "del", name);
            }
        }
    }
}
