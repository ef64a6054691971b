package dev.scalebox.network;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.ProcessTable;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * dnsmasq on the bridge only: DHCP with one fixed address per guest MAC (a file per guest in a
 * directory dnsmasq watches, so a new guest needs no restart), and DNS forwarded to the host's
 * resolvers. It runs detached, like QEMU, so a restart of Scalebox keeps it; it is recognised by
 * its pid file and command line, and started again when it is gone.
 */
final class Dnsmasq {

    private static final Logger log = LoggerFactory.getLogger(Dnsmasq.class);

    private final ProgramRunner runner;
    private final NetworkConfig config;

    Dnsmasq(ProgramRunner runner, NetworkConfig config) {
        this.runner = runner;
        this.config = config;
    }

    private Path hostsDir() {
        return config.runDir().resolve("dhcp-hosts");
    }

    private Path pidFile() {
        return config.runDir().resolve("dnsmasq.pid");
    }

    List<String> argv() {
        String gw = config.gateway();
        return List.of("dnsmasq", "--conf-file=/dev/null", "--pid-file=" + pidFile(),
                "--interface=" + config.bridge(), "--except-interface=lo", "--bind-interfaces",
                "--listen-address=" + gw, "--no-hosts", "--strict-order", "--domain-needed", "--bogus-priv",
                "--dhcp-range=" + Subnet.format(config.subnet().network()) + ",static," + config.subnet().netmask() + ",1h",
                "--dhcp-hostsdir=" + hostsDir(), "--dhcp-leasefile=" + config.runDir().resolve("leases"),
                "--dhcp-authoritative", "--dhcp-option=option:router," + gw, "--dhcp-option=option:dns-server," + gw);
    }

    /** Keeps dnsmasq running with today's arguments: an older or foreign one is ended, a missing one started. */
    synchronized void ensure() {
        Optional<Long> pid = running();
        if (pid.isPresent()) {
            if (ProcessTable.startedWith(pid.get(), argv())) {
                return;
            }
            log.info("dnsmasq {} of bridge {} runs with other arguments; starting it again", pid.get(), config.bridge());
            ProcessTable.kill(pid.get());
        }
        try {
            Files.createDirectories(hostsDir());
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot make " + hostsDir() + ": " + e.getMessage(), e);
        }
        ProgramResult started = runner.run(argv(), Duration.ofSeconds(30));
        if (!started.succeeded()) {
            throw new ScaleboxException.HostFailure("dnsmasq did not start on " + config.bridge() + ": "
                    + started.describeFailure());
        }
        log.info("dnsmasq serves DHCP and DNS on {} ({})", config.bridge(), config.gateway());
    }

    /** The pid of our dnsmasq, when it runs. */
    Optional<Long> running() {
        return ProcessTable.pidIn(pidFile()).filter(pid -> ProcessTable.arguments(pid).filter(a -> !a.isEmpty()
                && a.get(0).endsWith("dnsmasq") && a.contains("--pid-file=" + pidFile())).isPresent());
    }

    /** One file per guest, {@code MAC,ADDRESS}; dnsmasq reads new and changed files as they come. */
    synchronized void hosts(Collection<Guest> guests) {
        try {
            Files.createDirectories(hostsDir());
            Set<String> wanted = new HashSet<>();
            for (Guest g : guests) {
                Path file = hostsDir().resolve(g.vmId());
                wanted.add(file.getFileName().toString());
                String line = g.mac() + "," + g.ip() + "\n";
                if (!Files.exists(file) || !Files.readString(file).equals(line)) {
                    Path tmp = hostsDir().resolve("." + g.vmId());
                    Files.writeString(tmp, line);
                    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
            try (var files = Files.list(hostsDir())) {
                for (Path f : files.toList()) {
                    if (!wanted.contains(f.getFileName().toString())) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot write dnsmasq's hosts in " + hostsDir() + ": " + e.getMessage(), e);
        }
    }

    void stop() {
        running().ifPresent(ProcessTable::kill);
    }
}
