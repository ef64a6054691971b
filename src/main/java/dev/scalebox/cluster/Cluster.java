package dev.scalebox.cluster;

import dev.scalebox.store.Database;
import dev.scalebox.store.HostStore;
import dev.scalebox.storage.VolumeTransfer;
import dev.scalebox.template.TemplateService;
import dev.scalebox.vm.VmService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * This host among the hosts of its store: its heartbeat and, when it holds the lead, the leader's
 * work, on one thread every heartbeat interval. One host on SQLite is a cluster of one, and its
 * own leader.
 * <p>
 * A failed start stops what it started; a heartbeat that fails (the store unreachable) is logged
 * and tried again on the next beat, since a host that stays silent is marked down by the others.
 */
public final class Cluster implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Cluster.class);

    /**
     * This host: its name, the URL other hosts reach its API at, the name clients ssh to for its
     * VMs, its data directory (whose filesystem is its pool), the heartbeat's timing, and the
     * secret it shares with the other hosts (empty: it passes nothing on).
     */
    public record Options(String name, String url, String sshHost, Path dataDir, Duration heartbeat, Duration deadAfter,
                          Optional<ClusterSecret> secret) {
    }

    private final Database db;
    private final Heartbeat heartbeat;
    private final Leader leader;
    private final Optional<Forwarder> forwarder;
    private final Optional<TemplateCopies> copies;
    private final AtomicBoolean evacuating = new AtomicBoolean();
    private volatile Runnable evacuation;
    private final ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("heartbeat").daemon(true).factory());

    private Cluster(Database db, Heartbeat heartbeat, Leader leader, Optional<Forwarder> forwarder,
                    TemplateService templates) {
        this.db = db;
        this.heartbeat = heartbeat;
        this.leader = leader;
        this.forwarder = forwarder;
        this.copies = forwarder.map(f -> new TemplateCopies(db, templates, templates.transfers(), f));
    }

    /**
     * Joins the store as {@code options.name()}: claims the name (a second server under it is
     * refused), sends the first heartbeat, and keeps beating. {@code templates} are this host's,
     * which it sends to other hosts and receives from them.
     */
    public static Cluster join(Database db, Options options, String qemuVersion, String cpuModel,
                               TemplateService templates) {
        db.claim();
        Cluster cluster = new Cluster(db, new Heartbeat(db.hosts(), options, qemuVersion, cpuModel),
                new Leader(db, options.name(), options.deadAfter()),
                options.secret().map(secret -> new Forwarder(secret, db.hosts())), templates);
        cluster.tick();
        long every = options.heartbeat().toMillis();
        cluster.beats.scheduleWithFixedDelay(cluster::tick, every, every, TimeUnit.MILLISECONDS);
        return cluster;
    }

    private void tick() {
        try {
            heartbeat.beat();
            leader.tick();
            evacuateIfDrained();
        } catch (RuntimeException e) {
            log.warn("Heartbeat of host {} failed: {}", db.host(), e.getMessage());
        }
    }

    /**
     * Runs the evacuation (one at a time, beside the heartbeat) while this host is drained: it is
     * tried again on every beat, so a host drained while it was down starts when it is back.
     */
    private void evacuateIfDrained() {
        Runnable job = evacuation;
        if (job == null || !db.hosts().find(db.host()).map(h -> h.state().equals("draining")).orElse(false)
                || !evacuating.compareAndSet(false, true)) {
            return;
        }
        Thread.ofVirtual().name("evacuation").start(() -> {
            try {
                job.run();
            } catch (RuntimeException e) {
                log.warn("Moving boxes off drained host {} failed: {}", db.host(), e.getMessage());
            } finally {
                evacuating.set(false);
            }
        });
    }

    /** Sets what moves this host's boxes away while it is drained. */
    public void whileDrained(Runnable evacuation) {
        this.evacuation = evacuation;
    }

    /**
     * The host a box of this host with {@code memMib} of memory and {@code bytes} of volume moves
     * to when this host drains, or has no instance for it when it is {@code toRun} (see
     * {@link Placement#forBox}); empty when none can take it.
     */
    public Optional<String> placeBox(int memMib, long bytes, boolean toRun) {
        return Placement.forBox(db.hosts().list(), db.host(), memMib, bytes, toRun);
    }

    /** Every host of the store, with the VMs each holds. */
    public List<Host> hosts() {
        Map<String, Long> vms = db.vms().countByHost();
        return db.hosts().list().stream().map(h -> Host.of(h, vms.getOrDefault(h.name(), 0L))).toList();
    }

    /** Host {@code name} drained (it takes no new VMs) or undrained, as it is then. */
    public Host drain(String name, boolean draining) {
        if (!db.hosts().drain(name, draining)) {
            throw new dev.scalebox.ScaleboxException.NotFound("No host named '" + name + "'");
        }
        log.info("Host {} {}", name, draining ? "drained: it takes no new VMs" : "undrained");
        return hosts().stream().filter(h -> h.name().equals(name)).findFirst().orElseThrow();
    }

    /**
     * The host a new VM of {@code template} with {@code memMib} and {@code diskGib} goes to (see
     * {@link Placement}); {@code named} is the host the request names, if it does.
     */
    public String place(String template, int memMib, int diskGib, Optional<String> named) {
        return Placement.choose(db.hosts().list(), db.templates().holders(template),
                db.templates().findAny(template).map(t -> t.sizeBytes()).orElse(0L), template, memMib, diskGib, named);
    }

    /** This host's name. */
    public String self() {
        return db.host();
    }

    /** What passes actions on to other hosts; empty without a cluster secret. */
    public Optional<Forwarder> forwarder() {
        return forwarder;
    }

    /**
     * Tells the other hosts, from the next heartbeat on, where this host's SSH gateway is reached
     * ({@code HOST:PORT}) and its host key, so they carry sessions for boxes that live here to it.
     */
    public void gatewayAt(String address, String hostKey) {
        heartbeat.gateway(address, hostKey);
    }

    /** Tells the other hosts, from the next heartbeat on, what this host's box pool holds. */
    public void boxPoolFrom(Supplier<HostStore.BoxPool> levels) {
        heartbeat.boxPool(levels);
    }

    /** The box pools' totals over the hosts, as the leader last kept them; empty before it did. */
    public Optional<HostStore.BoxPoolTotals> boxPoolTotals() {
        return db.hosts().totals();
    }

    /** What copies templates from other hosts to this one; empty without a cluster secret. */
    public Optional<TemplateCopies> copies() {
        return copies;
    }

    /** What moves this host's suspended boxes to other hosts; empty without a cluster secret. */
    public Optional<BoxMoves> moves(VmService vms, VolumeTransfer volumes) {
        return forwarder.map(f -> new BoxMoves(db, vms, volumes, f));
    }

    /** Whether this host holds the lead. */
    public boolean leads() {
        return leader.leads();
    }

    @Override
    public void close() {
        beats.shutdownNow();
        try {
            beats.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        leader.close();
    }
}
