package dev.scalebox.network;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The guests' network on this host. With {@code NETWORK=bridge}: a bridge of Scalebox's own,
 * made when missing and kept across restarts; a TAP device per running VM on it; dnsmasq for
 * DHCP and DNS; and the firewall ({@link Firewall}), rebuilt from the whole list of guests each
 * time it changes. With {@code NETWORK=user} every QEMU has its own user-mode network and this
 * class does nothing.
 */
public final class HostNetwork {

    private static final Duration IP_TIMEOUT = Duration.ofSeconds(30);
    private static final Logger log = LoggerFactory.getLogger(HostNetwork.class);

    private final ProgramRunner runner;
    private final NetworkConfig config;
    private final Firewall firewall;
    private final Dnsmasq dnsmasq;
    private final Optional<HttpsConfig> https;
    private final Optional<Caddy> caddy;
    private final Map<String, Guest> guests = new ConcurrentHashMap<>();

    public HostNetwork(ProgramRunner runner, NetworkConfig config) {
        this(runner, config, Optional.empty());
    }

    /** With {@code https}, each VM also has an HTTPS address, served by Caddy. */
    public HostNetwork(ProgramRunner runner, NetworkConfig config, Optional<HttpsConfig> https) {
        this.runner = runner;
        this.config = config;
        this.firewall = new Firewall(runner, config);
        this.dnsmasq = new Dnsmasq(runner, config);
        this.https = https.filter(h -> config.bridged());
        this.caddy = this.https.map(h -> new Caddy(runner, h, config.runDir()));
    }

    /** The VMs' HTTPS addresses, when they have them. */
    public Optional<HttpsConfig> https() {
        return https;
    }

    public NetworkConfig config() {
        return config;
    }

    public boolean bridged() {
        return config.bridged();
    }

    /**
     * Makes the bridge when it is missing, and sets DHCP, DNS and the rules for {@code all}, every
     * VM that has an address; running guests keep their connections throughout.
     */
    public synchronized void start(Collection<Guest> all) {
        if (!config.bridged()) {
            log.warn("NETWORK=user: each VM has QEMU's user-mode network, in which the guest reaches this host's"
                    + " loopback (10.0.2.2), the API and the gateway among it; use NETWORK=bridge to isolate guests");
            return;
        }
        ensureBridge();
        openTun();
        guests.clear();
        all.forEach(g -> guests.put(g.vmId(), g));
        dnsmasq.hosts(guests.values());
        firewall.apply(guests.values());
        dnsmasq.ensure();
        caddy.ifPresent(c -> c.ensure(guests.values()));
    }

    /** Sets the rules and DHCP entry of {@code guest}, new or changed (its egress, say), at once. */
    public synchronized void put(Guest guest) {
        if (!config.bridged()) {
            return;
        }
        Guest before = guests.put(guest.vmId(), guest);
        dnsmasq.hosts(guests.values());
        firewall.apply(guests.values());
        caddy.ifPresent(c -> c.put(before, guest));
    }

    /** Forgets a deleted VM: its rules, its DHCP entry, its HTTPS route and its TAP device. */
    public synchronized void remove(String vmId) {
        if (!config.bridged()) {
            return;
        }
        unplug(vmId);
        Guest gone = guests.remove(vmId);
        if (gone != null) {
            runner.run(List.of("ip", "neigh", "del", gone.ip(), "dev", config.bridge()), IP_TIMEOUT);  // absent when it never ran
            dnsmasq.hosts(guests.values());
            firewall.apply(guests.values());
            caddy.ifPresent(c -> c.remove(vmId));
        }
    }

    /**
     * A fresh TAP device for the VM's QEMU, on the bridge, that only {@code owner} may attach to;
     * with {@code alone}, on no bridge and down (a template's snapshot being made); nothing in user mode.
     */
    public void plug(String vmId, int owner, boolean alone) {
        if (!config.bridged()) {
            return;
        }
        String tap = Guest.tapOf(vmId);
        unplug(vmId);
        // Only its owner may attach to a TAP device (with no owner, any user could).
        ip("tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr", "user", Integer.toString(owner),
                "group", Integer.toString(owner));
        if (alone) {
            return;  // down and on no bridge: what the guest sends goes nowhere
        }
        try {
            ip("link", "set", "dev", tap, "master", config.bridge());
            // The kernel's own guard, besides the firewall's: isolated ports forward only to the bridge itself.
            ip("link", "set", "dev", tap, "type", "bridge_slave", "isolated", "on", "learning", "off");
            ip("link", "set", "dev", tap, "up");
            pinNeighbour(vmId);
            markRunning(vmId, true);
        } catch (RuntimeException e) {
            unplug(vmId);
            throw e;
        }
    }

    /**
     * The host reaches the guest's address at its MAC without asking ARP: a guest resumed from a
     * snapshot takes its address a moment after it runs, and an ARP request it missed is asked
     * again only a second later, holding the first connections to it back that long. Nor can
     * another guest answer for that address.
     */
    private synchronized void pinNeighbour(String vmId) {
        Guest guest = guests.get(vmId);
        if (guest != null) {
            ip("neigh", "replace", guest.ip(), "lladdr", guest.mac(), "dev", config.bridge(), "nud", "permanent");
        }
    }

    /** Removes the VM's TAP device, if it has one. */
    public void unplug(String vmId) {
        if (!config.bridged()) {
            return;
        }
        String tap = Guest.tapOf(vmId);
        if (Files.exists(Path.of("/sys/class/net", tap))) {
            deleteTap(tap);
            markRunning(vmId, false);
        }
    }

    /** Lets connections to the guest through, or resets them at once (see {@link Firewall}). */
    private synchronized void markRunning(String vmId, boolean running) {
        Guest guest = guests.get(vmId);
        if (guest != null) {
            firewall.running(guest.ip(), running);
        }
    }

    /** Removes the TAP devices on the bridge that belong to none of {@code running}: left by a crash. */
    public void sweepTaps(Set<String> runningVmIds) {
        if (!config.bridged()) {
            return;
        }
        Set<String> keep = new java.util.HashSet<>();
        runningVmIds.forEach(id -> keep.add(Guest.tapOf(id)));
        boolean removed = false;
        for (String port : ports()) {
            if (!keep.contains(port)) {
                log.info("Removing TAP device {}: no VM of it runs", port);
                deleteTap(port);
                removed = true;
            }
        }
        if (removed) {
            synchronized (this) {
                firewall.apply(guests.values());  // their guests' connections are reset from now on
            }
        }
    }

    /** Starts dnsmasq and Caddy again if they are gone, and gives Caddy the routes it missed. */
    public void supervise() {
        if (config.bridged()) {
            try {
                dnsmasq.ensure();
            } catch (RuntimeException e) {
                log.error("dnsmasq of {} is down and could not be started: {}", config.bridge(), e.getMessage());
            }
            caddy.ifPresent(c -> {
                try {
                    c.ensure(guests.values());
                } catch (RuntimeException e) {
                    log.error("Caddy is down and could not be started: {}", e.getMessage());
                }
            });
        }
    }

    /** Takes everything down: rules, dnsmasq, TAP devices and the bridge. For tests and uninstalls. */
    public synchronized void tearDown() {
        if (!config.bridged()) {
            return;
        }
        dnsmasq.stop();
        caddy.ifPresent(Caddy::stop);
        ports().forEach(this::deleteTap);
        firewall.remove();
        runner.run(List.of("ip", "link", "del", "dev", config.bridge()), IP_TIMEOUT);
        guests.clear();
    }

    private void deleteTap(String name) {
        runner.run(List.of("ip", "tuntap", "del", "dev", name, "mode", "tap"), IP_TIMEOUT);
    }

    private List<String> ports() {
        Path dir = Path.of("/sys/class/net", config.bridge(), "brif");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private void ensureBridge() {
        String br = config.bridge();
        if (!Files.exists(Path.of("/sys/class/net", br))) {
            ip("link", "add", "name", br, "type", "bridge", "stp_state", "0", "forward_delay", "0");
            log.info("Made bridge {} for {}", br, config.subnet());
        }
        // A fixed MAC: a bridge takes its lowest port's otherwise, and the guests' ARP entries for it would go stale.
        ip("link", "set", "dev", br, "address", Subnet.macOf(config.gateway()));
        ip("addr", "replace", config.gateway() + "/" + config.subnet().prefix(), "dev", br);
        sysctl("net/ipv6/conf/" + br + "/disable_ipv6", "1");
        // The SSH ports forwarded from loopback leave through the bridge with a loopback source until masqueraded.
        sysctl("net/ipv4/conf/" + br + "/route_localnet", "1");
        // A guest is asked for its MAC again after 100 ms, not the default second: a connection to a
        // guest just started, tried before it had its address from DHCP, would otherwise wait that second.
        sysctl("net/ipv4/neigh/" + br + "/retrans_time_ms", "100");
        ip("link", "set", "dev", br, "up");
        if (!readSysctl("net/ipv4/ip_forward").equals("1")) {
            log.info("Turning on IPv4 forwarding (net.ipv4.ip_forward) for the guests' traffic to the internet");
            sysctl("net/ipv4/ip_forward", "1");
        }
    }

    /**
     * QEMU, running as a user of its own, opens /dev/net/tun to attach to its TAP device. udev
     * makes that device 0666 on most hosts; where nothing did, this does. It is safe for all:
     * the kernel lets only a TAP device's owner attach to it, and only root make one.
     */
    private static void openTun() {
        Path tun = Path.of("/dev/net/tun");
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(tun);
            if (mode.addAll(Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                    PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE))) {
                log.info("Making {} usable by QEMU's users (mode 0666, as udev sets it on most hosts)", tun);
                Files.setPosixFilePermissions(tun, mode);
            }
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot open " + tun + " to QEMU's users: " + e.getMessage(), e);
        }
    }

    private void ip(String... args) {
        List<String> argv = new ArrayList<>();
        argv.add("ip");
        argv.addAll(List.of(args));
        ProgramResult r = runner.run(argv, IP_TIMEOUT);
        if (!r.succeeded()) {
            throw new ScaleboxException.HostFailure("network setup failed: " + r.describeFailure());
        }
    }

    private static void sysctl(String key, String value) {
        try {
            Files.writeString(Path.of("/proc/sys", key), value);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot set " + key.replace('/', '.') + " = " + value + ": "
                    + e.getMessage(), e);
        }
    }

    private static String readSysctl(String key) {
        try {
            return Files.readString(Path.of("/proc/sys", key)).strip();
        } catch (IOException e) {
            return "";
        }
    }
}
