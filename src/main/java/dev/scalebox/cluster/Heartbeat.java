package dev.scalebox.cluster;

import dev.scalebox.host.HostFacts;
import dev.scalebox.store.HostStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.function.Supplier;

/** One host's heartbeat: what it has now, written into its own row of the store. */
final class Heartbeat {

    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

    private final HostStore hosts;
    private final Cluster.Options options;
    private final String qemuVersion;
    private final String cpuModel;
    private final Instant startedAt = Instant.now();
    private volatile String gateway;
    private volatile String gatewayHostKey;
    private volatile Supplier<HostStore.BoxPool> boxPool = () -> null;

    Heartbeat(HostStore hosts, Cluster.Options options, String qemuVersion, String cpuModel) {
        this.hosts = hosts;
        this.options = options;
        this.qemuVersion = qemuVersion;
        this.cpuModel = cpuModel;
    }

    void beat() {
        HostFacts facts = HostFacts.read();
        long total = 0;
        long free = 0;
        try {
            FileStore pool = Files.getFileStore(options.dataDir());
            total = pool.getTotalSpace();
            free = pool.getUsableSpace();
        } catch (IOException e) {
            // a pool that cannot be read has no room to offer
        }
        hosts.beat(new HostStore.Row(options.name(), options.url(), options.sshHost(), "up", null, facts.cpuCores(),
                facts.memTotalMib(), facts.memAvailableMib(), total, free, loadMilli(), qemuVersion, cpuModel, 0,
                startedAt, Instant.now(), gateway, gatewayHostKey, boxPool()));
    }

    /** Says from the next beat on where this host's SSH gateway is reached, and its host key. */
    void gateway(String address, String hostKey) {
        this.gateway = address;
        this.gatewayHostKey = hostKey;
    }

    /** The box pool's levels; null, rather than no heartbeat, when they cannot be read. */
    private HostStore.BoxPool boxPool() {
        try {
            return boxPool.get();
        } catch (RuntimeException e) {
            log.warn("The box pool of host {} could not be read for its heartbeat: {}", options.name(), e.getMessage());
            return null;
        }
    }

    /** Says from the next beat on what this host's box pool holds. */
    void boxPool(Supplier<HostStore.BoxPool> levels) {
        this.boxPool = levels;
    }

    /** The one-minute load average, in thousandths. */
    private static int loadMilli() {
        try {
            String first = Files.readString(Path.of("/proc/loadavg")).split(" ", 2)[0];
            return (int) Math.round(Double.parseDouble(first) * 1000);
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }
}
