package dev.scalebox.network;

import java.nio.file.Path;

/**
 * How guests are networked: {@code bridge} (a bridge of Scalebox's own, with its DHCP, DNS and
 * firewall) or {@code user} (QEMU's user-mode network, under which a guest reaches the host's
 * loopback); the bridge's name and subnet; and the host address VMs' SSH ports are forwarded on.
 */
public record NetworkConfig(boolean bridged, String bridge, Subnet subnet, String bindAddress, Egress vmDefault,
                            Egress boxDefault) {

    /** Where dnsmasq's files live: under /run, which dnsmasq can read after it gives up root. */
    Path runDir() {
        return Path.of("/run/scalebox", bridge);
    }

    boolean forwardsWildcard() {
        return bindAddress.equals("0.0.0.0") || bindAddress.equals("::");
    }

    boolean forwardsLoopbackOnly() {
        return bindAddress.startsWith("127.");
    }

    String gateway() {
        return Subnet.format(subnet.gateway());
    }
}
