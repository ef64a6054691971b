package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import org.apache.sshd.client.session.ClientSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Boxes made ahead for new users. A ready box ({@code ready-…}) is a copy of the golden state
 * that was resumed once to be made unique and suspended again; a new user's box is one of them,
 * renamed. A copy still being made is named {@code pool-…}, so that a crash can never hand out a
 * box that was not made unique: such leftovers are deleted when the pool starts.
 *
 * <p>The pool refills in the background, one box at a time: up to {@code maxFree} ready boxes
 * while new users keep coming, down to {@code minFree} once none came for the cooldown, and
 * never past {@code volumesTotal} volumes in all (users' boxes, ready ones and ones being made).
 * Beside them it keeps warm instances, between {@code instancesMinFree} and
 * {@code instancesMaxFree} by the same rule: blank QEMUs of the boxes' shape, in which the next
 * box to resume (a new user's ready box or a returning user's suspended one) is joined with its
 * volume and memory, without waiting for QEMU's start.
 */
final class VolumePool implements AutoCloseable {

    static final String READY = "ready-";
    static final String MAKING = "pool-";
    private static final Duration REFILL_DELAY = Duration.ofSeconds(5);
    private static final Logger log = LoggerFactory.getLogger(VolumePool.class);

    record Settings(int minFree, int maxFree, int volumesTotal, int instancesMinFree, int instancesMaxFree,
                    int instancesTotal, int maxBoxes, Duration interval, Duration cooldown) {
    }

    /** A new box, unique and running, with the session that set it up (null when its guest agent did). */
    record Unique(Vm vm, ClientSession session) {
    }

    /**
     * The pool's levels against its targets, for {@code GET /pool}; with the totals of every host's
     * pool as the leader keeps them ({@code cluster}, null before a leader did).
     */
    public record Status(Volumes volumes, Instances instances, int maxBoxes, String golden, HostStore.BoxPoolTotals cluster) {

        Status withCluster(HostStore.BoxPoolTotals totals) {
            return new Status(volumes, instances, maxBoxes, golden, totals);
        }

        /** The levels a heartbeat tells the other hosts. */
        public HostStore.BoxPool levels() {
            return new HostStore.BoxPool(volumes.ready(), instances.warm(), instances.inAll(), instances.total(),
                    volumes.ready() + volumes.making() + volumes.inUse(), volumes.total());
        }
    }

    /** Boxes ready for new users, being made, and in users' hands; and all of them against their total. */
    public record Volumes(int ready, int making, int inUse, int minFree, int maxFree, int target, int total) {
    }

    /** Blank QEMUs waiting for a box; and all the QEMUs of boxes (in use, warm, being made) against their total. */
    public record Instances(int warm, int minFree, int maxFree, int target, int inAll, int total) {
    }

    private final VmService vms;
    private final BoxSpec spec;
    private final Golden golden;
    private final BoxGuest guest;
    private final Settings settings;
    private final SecureRandom random = new SecureRandom();
    private final Object claims = new Object();
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("box-pool").daemon(true).factory());
    private volatile long lastClaim;
    private volatile boolean claimed;

    VolumePool(VmService vms, BoxSpec spec, Golden golden, BoxGuest guest, Settings settings) {
        this.vms = vms;
        this.spec = spec;
        this.golden = golden;
        this.guest = guest;
        this.settings = settings;
    }

    /** Deletes what a crash left half made, then keeps the pool filled in the background. */
    void start() {
        for (Vm vm : vms.list()) {
            if (vm.name().startsWith(MAKING) || (vm.name().startsWith(READY) && vm.status() != VmStatus.SUSPENDED)) {
                log.info("Deleting {}, a pool box left unfinished", vm.name());
                vms.delete(vm.id());
            }
        }
        worker.scheduleWithFixedDelay(this::check, 0, settings.interval().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Takes a ready box for a new user, renamed {@code name}; empty when none is ready. */
    Optional<Vm> claim(String name) {
        synchronized (claims) {
            lastClaim = System.nanoTime();
            claimed = true;
            Optional<Vm> box = ready().stream().findFirst().map(v -> vms.rename(v.id(), name));
            refillSoon();
            return box;
        }
    }

    /**
     * Checks the pool a little after a box took from it (a ready box, a warm instance): refilling
     * at once would take CPU from that box's resume.
     */
    void refillSoon() {
        worker.schedule(this::check, REFILL_DELAY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether one more volume fits under {@code volumesTotal}. */
    boolean hasVolumeRoom() {
        return volumesInAll() < settings.volumesTotal();
    }

    boolean hasReady() {
        return !ready().isEmpty();
    }

    /** Whether one more user's box fits under {@code maxBoxes}. */
    boolean hasUserRoom() {
        return vms.list().stream().filter(v -> v.name().startsWith(Boxes.BOX_PREFIX)).count() < settings.maxBoxes();
    }

    /** The current golden state, made first when needed; empty, with the reason logged, when it cannot be. */
    Optional<Vm> golden(Admission.Priority priority, Consumer<String> progress) {
        try {
            return Optional.of(golden.ensure(priority, progress));
        } catch (ScaleboxException.HostFailure e) {
            log.warn("No golden state: {}", e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * A new box copied from golden state {@code from}, resumed in its turn at {@code priority} and
     * made unique, with hostname {@code hostname}; it is still named {@code pool-…}, for the
     * caller to rename. A copy that cannot be made unique is deleted, never handed out.
     */
    Unique makeUnique(Vm from, String hostname, Admission.Priority priority, Consumer<String> progress) {
        Vm copy = vms.fork(from.id(), MAKING + HexFormat.of().formatHex(randomBytes()));
        try {
            vms.start(copy.id(), priority);
            Vm running = BoxGuest.awaitRunning(vms, copy.id(), progress);
            if (guest.afterResumeByAgent(vms, running, hostname, true)) {
                return new Unique(running, null);
            }
            ClientSession session = guest.connect(running);
            try {
                guest.afterResume(session, hostname, true);
                return new Unique(running, session);
            } catch (IOException | RuntimeException e) {
                session.close(true);
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            vms.delete(copy.id());
            throw new ScaleboxException.HostFailure("a new box could not be made: " + e.getMessage(), e);
        }
    }

    Status status() {
        List<Vm> all = vms.list();
        List<Vm> ready = all.stream().filter(VolumePool::isReady).toList();
        int making = (int) all.stream().filter(v -> v.name().startsWith(MAKING)).count();
        int inUse = (int) all.stream().filter(v -> v.name().startsWith(Boxes.BOX_PREFIX)).count();
        String state = golden.find().map(v -> golden.isCurrent(v) ? "ready" : "out of date").orElse("missing");
        return new Status(
                new Volumes(ready.size(), making, inUse, settings.minFree(), settings.maxFree(), target(),
                        settings.volumesTotal()),
                new Instances(warm(), settings.instancesMinFree(), settings.instancesMaxFree(), instanceTarget(),
                        instancesInAll(all), settings.instancesTotal()),
                settings.maxBoxes(), state, null);
    }

    /** One step towards the targets; another check follows at once while there is more to do. */
    private void check() {
        try {
            if (step()) {
                worker.execute(this::check);
            }
        } catch (RuntimeException e) {
            log.warn("The box pool could not be refilled: {}", e.getMessage());
        }
    }

    private boolean step() {
        synchronized (claims) {
            for (Vm stale : ready().stream().filter(golden::predates).toList()) {
                log.info("Deleting ready box {}: the box template was rebuilt since", stale.name());
                vms.delete(stale.id());
            }
        }
        List<Vm> ready = ready();
        boolean instanceRoom = instancesInAll(vms.list()) < settings.instancesTotal();
        if (ready.size() < target() && hasVolumeRoom() && instanceRoom) {
            makeReady();
            return true;
        }
        if (ready.size() > target() && cooledDown()) {
            synchronized (claims) {
                List<Vm> extra = ready();
                if (extra.size() > target()) {
                    vms.delete(extra.getLast().id());
                }
            }
            return true;
        }
        int warm = warm();
        if (warm < instanceTarget() && instanceRoom) {
            vms.warmUp(spec.vcpus(), spec.memMib());
            return true;
        }
        if (warm > instanceTarget() && cooledDown()) {
            vms.coolDown(spec.vcpus(), spec.memMib());
            return true;
        }
        return false;
    }

    private void makeReady() {
        String name = READY + HexFormat.of().formatHex(randomBytes());
        Vm from = golden(Admission.Priority.BACKGROUND, line -> { }).orElseThrow(() ->
                new ScaleboxException.HostFailure("no golden state to copy ready boxes from"));
        Unique made = makeUnique(from, name, Admission.Priority.BACKGROUND, line -> { });
        if (made.session() != null) {
            made.session().close(true);
        }
        try {
            vms.suspend(made.vm().id());
            vms.rename(made.vm().id(), name);
        } catch (RuntimeException e) {
            vms.delete(made.vm().id());
            throw e;
        }
    }

    private int target() {
        return cooledDown() ? settings.minFree() : settings.maxFree();
    }

    private int instanceTarget() {
        return cooledDown() ? settings.instancesMinFree() : settings.instancesMaxFree();
    }

    private int warm() {
        return vms.warmInstances(spec.vcpus(), spec.memMib());
    }

    private boolean cooledDown() {
        return !claimed || System.nanoTime() - lastClaim > settings.cooldown().toNanos();
    }

    private List<Vm> ready() {
        return vms.list().stream().filter(VolumePool::isReady).toList();
    }

    private static boolean isReady(Vm vm) {
        return vm.name().startsWith(READY) && vm.status() == VmStatus.SUSPENDED;
    }

    /**
     * Whether a box may start one more QEMU under {@code instancesTotal}; at the total, one warm
     * instance is ended to make that room, when there is one.
     */
    boolean makeInstanceRoom() {
        synchronized (claims) {
            List<Vm> all = vms.list();
            if (instancesInAll(all) < settings.instancesTotal()) {
                return true;
            }
            return vms.coolDown(spec.vcpus(), spec.memMib());
        }
    }

    boolean hasWarm() {
        return warm() > 0;
    }

    /** QEMUs of boxes: users' and ones being made that run, and warm instances. */
    private int instancesInAll(List<Vm> all) {
        int running = (int) all.stream().filter(v -> v.name().startsWith(Boxes.BOX_PREFIX) || v.name().startsWith(MAKING))
                .filter(v -> v.status() != VmStatus.SUSPENDED && v.status() != VmStatus.STOPPED
                        && v.status() != VmStatus.ERROR).count();
        return running + warm();
    }

    private int volumesInAll() {
        return (int) vms.list().stream().filter(v -> v.name().startsWith(Boxes.BOX_PREFIX) || v.name().startsWith(READY)
                || v.name().startsWith(MAKING)).count();
    }

    private byte[] randomBytes() {
        byte[] bytes = new byte[6];
        random.nextBytes(bytes);
        return bytes;
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
