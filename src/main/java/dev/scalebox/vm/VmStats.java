package dev.scalebox.vm;

import dev.scalebox.hypervisor.Instance;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What each running VM uses, sampled every {@link #INTERVAL} and kept in memory for an hour: its
 * QEMU's CPU time and resident memory, the guest's memory in use (its balloon's statistics), its
 * network bytes (its TAP device's, as the guest sees them), and, less often since btrfs walks the
 * file's extents for it, the disk bytes of its own, which carries its last reading in between.
 */
public final class VmStats {

    public static final Duration INTERVAL = Duration.ofSeconds(5);
    static final Duration KEPT = Duration.ofHours(1);
    /** The disk's own bytes every 30 s: btrfs walks the file's extents. */
    private static final int DISK_EVERY = 6;
    private static final Logger log = LoggerFactory.getLogger(VmStats.class);

    /** One reading; a figure Scalebox cannot read (no agent, not btrfs, no TAP device) is null. */
    public record Sample(Instant at, double cpuSeconds, long rssBytes, Long guestMemoryBytes, Long diskOwnBytes,
                  Long netRxBytes, Long netTxBytes) {
    }

    private final DataLayout layout;
    private final StorageService storage;
    private final Function<String, Optional<Path>> tapOf;
    private final Map<String, Deque<Sample>> series = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("vm-stats").daemon(true).factory());
    private long round;

    /** {@code tapOf}: the sysfs directory of a VM's TAP device, when it has one. */
    VmStats(DataLayout layout, StorageService storage, Function<String, Optional<Path>> tapOf) {
        this.layout = layout;
        this.storage = storage;
        this.tapOf = tapOf;
    }

    /** A running VM's QEMU, and whether the VM is a box (its disk is elsewhere). */
    record Running(Instance instance, boolean box) {
    }

    /** Samples the running VMs that {@code running} gives, by id, from now on. */
    void start(Supplier<Map<String, Running>> running) {
        timer.scheduleAtFixedRate(() -> {
            try {
                sample(running.get());
            } catch (RuntimeException e) {
                log.warn("Sampling the VMs' figures failed: {}", e.getMessage());
            }
        }, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    void stop() {
        timer.shutdownNow();
    }

    /** The samples of the last hour of VM {@code id}, oldest first. */
    List<Sample> of(String id) {
        Deque<Sample> samples = series.get(id);
        if (samples == null) {
            return List.of();
        }
        synchronized (samples) {
            return new ArrayList<>(samples);
        }
    }

    /** The newest sample of each VM sampled in the last interval or two. */
    Map<String, Sample> latest() {
        Instant recent = Instant.now().minus(INTERVAL.multipliedBy(3));
        Map<String, Sample> latest = new TreeMap<>();
        series.forEach((id, samples) -> {
            synchronized (samples) {
                Sample last = samples.peekLast();
                if (last != null && last.at().isAfter(recent)) {
                    latest.put(id, last);
                }
            }
        });
        return latest;
    }

    void forget(String id) {
        series.remove(id);
    }

    private void sample(Map<String, Running> running) {
        round++;
        Instant now = Instant.now();
        for (Map.Entry<String, Running> e : running.entrySet()) {
            String id = e.getKey();
            Instance instance = e.getValue().instance();
            double cpu = instance.cpuSeconds();
            long rss = instance.rssBytes();
            if (cpu < 0 || rss < 0) {
                continue;  // it ended meanwhile
            }
            Deque<Sample> samples = series.computeIfAbsent(id, k -> new ArrayDeque<>());
            Sample last;
            synchronized (samples) {
                last = samples.peekLast();
            }
            Long guest = boxed(instance.guestMemoryInUse());
            Long disk = round % DISK_EVERY == 1 || last == null
                    ? boxed(storage.ownBytes(layout.disk(id, e.getValue().box()))) : last.diskOwnBytes();
            Optional<Path> tap = tapOf.apply(id);
            // The TAP device's received bytes are what the guest sent, and the other way round.
            Sample sample = new Sample(now, cpu, rss, guest, disk, tap.map(t -> counter(t, "tx_bytes")).orElse(null),
                    tap.map(t -> counter(t, "rx_bytes")).orElse(null));
            synchronized (samples) {
                samples.addLast(sample);
                while (!samples.isEmpty() && samples.peekFirst().at().isBefore(now.minus(KEPT))) {
                    samples.removeFirst();
                }
            }
        }
        series.entrySet().removeIf(e -> {
            synchronized (e.getValue()) {
                return e.getValue().isEmpty() || e.getValue().peekLast().at().isBefore(now.minus(KEPT));
            }
        });
    }

    private static Long boxed(OptionalLong v) {
        return v.isPresent() ? v.getAsLong() : null;
    }

    private static Long counter(Path tap, String name) {
        try {
            return Long.parseLong(Files.readString(tap.resolve("statistics").resolve(name)).strip());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
