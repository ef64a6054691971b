package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import org.apache.sshd.client.session.ClientSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.function.BooleanSupplier;

/**
 * Each user's box: a VM named {@code box-USERID} made from the box template with the gateway's
 * internal key, so the user's own key never has to be inside it. Two connections of one user at
 * once wait on the same lock and get the same box; the operations below take it too.
 */
public final class Boxes {

    static final String BOX_PREFIX = "box-";
    private static final Logger log = LoggerFactory.getLogger(Boxes.class);

    /** Told how long resumes and suspends of boxes take. */
    public interface Events {
        /** A user's connection: {@code ok}, {@code refused} (authentication) or {@code failed} (no box). */
        default void connected(String result) {
        }

        default void resumed(double seconds) {
        }

        default void suspended(double seconds) {
        }
    }

    private final VmService vms;
    private final Users users;
    private final BoxSpec spec;
    private final String internalKey;
    private final BoxGuest guest;
    private final VolumePool pool;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final Semaphore preparations = new Semaphore(Math.max(2, Runtime.getRuntime().availableProcessors()), true);
    private volatile Events events = new Events() {
    };
    private volatile IdleBoxes idle = exceptUserId -> false;

    /** Suspends, at once, the box that has been idle longest (its user's last session closed), other than one user's. */
    interface IdleBoxes {
        boolean suspendLongestIdle(String exceptUserId);
    }

    Boxes(VmService vms, Users users, BoxSpec spec, String internalKey, BoxGuest guest, VolumePool pool) {
        this.vms = vms;
        this.users = users;
        this.spec = spec;
        this.internalKey = internalKey;
        this.guest = guest;
        this.pool = pool;
    }

    /** Where room is made when all POOL_INSTANCES_TOTAL instances run. */
    void whenFull(IdleBoxes idleBoxes) {
        this.idle = idleBoxes;
    }

    public void onEvents(Events listener) {
        this.events = listener;
    }

    Events events() {
        return events;
    }

    /** The pool's levels against its targets. */
    public VolumePool.Status pool() {
        return pool.status();
    }

    static String boxName(User user) {
        return boxName(user.id());
    }

    private static String boxName(String userId) {
        return BOX_PREFIX + userId;
    }

    public List<Box> list() {
        return vms.list().stream().filter(v -> v.name().startsWith(BOX_PREFIX)).map(this::toBox).toList();
    }

    /** The box of user {@code id} (a box's id is its user's id); 404 when it has none. */
    public Box get(String id) {
        return toBox(vm(id));
    }

    /** Suspends the box now, as its idle time would; 409 unless it runs. */
    public Box suspend(String id) {
        synchronized (locks.computeIfAbsent(id, k -> new Object())) {
            return toBox(vms.suspend(vm(id).id()));
        }
    }

    /** Removes the box: its instance, disk and saved memory. Refused (400) without {@code confirm}. */
    public void delete(String id, boolean confirm) {
        Vm vm = vm(id);
        if (!confirm) {
            throw new ScaleboxException.BadRequest("Deleting box " + id + " removes its disk and saved memory for good;"
                    + " repeat with ?confirm=true");
        }
        synchronized (locks.computeIfAbsent(id, k -> new Object())) {
            vms.delete(vm.id());
        }
    }

    private Vm vm(String id) {
        if (id == null || !id.matches("[0-9a-f]{16}")) {
            throw new ScaleboxException.NotFound("Box not found");
        }
        return find(boxName(id)).orElseThrow(() -> new ScaleboxException.NotFound("Box not found"));
    }

    private Box toBox(Vm vm) {
        String userId = vm.name().substring(BOX_PREFIX.length());
        String user = users.find(userId).map(User::name).orElse(null);
        return new Box(userId, user, vm.id(), vm.status().label(), vm.statusReason(), vm.diskSizeGib(), vm.createdAt());
    }

    /**
     * A box ready for a session. {@code session} is the gateway's SSH session into it when one had
     * to be opened to set the box up after a resume; the caller uses it and closes it.
     */
    record Ready(Vm vm, ClientSession session) {
    }

    /**
     * The user's box running, with an SSH session into it: their own box made (from a ready one
     * of the pool, else from the golden state), started or resumed when needed.
     */
    Ready open(User user) throws IOException {
        makeRoom(user);
        Ready ready;
        synchronized (locks.computeIfAbsent(user.id(), k -> new Object())) {
            ready = ensureRunning(user);
        }
        return ready.session() != null ? ready : new Ready(ready.vm(), guest.connect(ready.vm()));
    }

    /**
     * Keeps box instances within POOL_INSTANCES_TOTAL when the user's box needs one: a warm
     * instance ends first, else the box idle longest is suspended now instead of at the end of its
     * idle time; with every instance in a connected user's hands the connection is refused. Done
     * before the user's lock is taken, since it takes another user's: two connections at the same
     * moment may both pass, so the total can be passed by the connections in flight.
     */
    private void makeRoom(User user) {
        Optional<Vm> box = find(boxName(user));
        if (box.isEmpty()) {
            requireRoomForNewBox();
        }
        // A resume (of a ready box or a suspended one) takes a warm instance when one waits; a boot does not.
        boolean needsInstance = box.map(v -> v.status() == VmStatus.SUSPENDED ? !pool.hasWarm()
                : v.status() == VmStatus.STOPPED || v.status() == VmStatus.ERROR).orElseGet(() -> !pool.hasWarm());
        if (!needsInstance || pool.makeInstanceRoom() || idle.suspendLongestIdle(user.id())) {
            return;
        }
        throw new ScaleboxException.Conflict("every box instance this host runs (POOL_INSTANCES_TOTAL, "
                + pool.status().instances().total() + ") is in use by a connected user; try again later");
    }

    private Ready ensureRunning(User user) throws IOException {
        String name = boxName(user);
        Optional<Vm> existing = find(name);
        if (existing.isEmpty()) {
            return newBox(name);
        }
        Vm box = existing.get();
        return switch (box.status()) {
            case RUNNING -> new Ready(box, null);
            case SUSPENDED -> resume(box);
            default -> {
                if (box.status() != VmStatus.STARTING) {
                    vms.start(box.id());
                }
                yield new Ready(BoxGuest.awaitRunning(vms, box.id()), null);
            }
        };
    }

    /** Refuses a new user's box past MAX_BOXES, or past POOL_VOLUMES_TOTAL when no ready box waits. */
    private void requireRoomForNewBox() {
        if (!pool.hasUserRoom()) {
            throw new ScaleboxException.Conflict("this host has no room for another user's box (MAX_BOXES)");
        }
        if (!pool.hasReady() && !pool.hasVolumeRoom()) {
            throw new ScaleboxException.Conflict("this host has no room for another box volume (POOL_VOLUMES_TOTAL)");
        }
    }

    private Ready newBox(String name) throws IOException {
        requireRoomForNewBox();
        Optional<Vm> claimed = pool.claim(name);
        if (claimed.isPresent()) {
            return resume(claimed.get());
        }
        requireRoomForNewBox();  // the ready box seen a moment ago may have gone to another user
        try {
            VolumePool.Unique made = preparing(() -> pool.makeUnique(name));
            return new Ready(vms.rename(made.vm().id(), name), made.session());
        } catch (ScaleboxException.HostFailure e) {
            // Without a golden state a box can still boot from the template; it makes its own
            // secrets on that first boot.
            log.warn("Booting box {} from its template instead: {}", name, e.getMessage());
            Vm box = vms.create(new CreateVm(spec.template(), internalKey, name, spec.vcpus(), spec.memMib(), null), true);
            return new Ready(BoxGuest.awaitRunning(vms, box.id()), null);
        }
    }

    private Ready resume(Vm box) throws IOException {
        return preparing(() -> {
            long started = System.nanoTime();
            vms.start(box.id());
            pool.refillSoon();
            Vm running = BoxGuest.awaitRunning(vms, box.id());
            long answered = System.nanoTime();
            ClientSession session = guest.connect(running);
            try {
                guest.afterResume(session, box.name(), false);
            } catch (IOException | RuntimeException e) {
                session.close(true);
                throw e;
            }
            long done = System.nanoTime();
            log.info("Resumed box {} in {} s ({} s to its SSH banner, {} s to log in and set it up)", box.name(),
                    seconds(done - started), seconds(answered - started), seconds(done - answered));
            events.resumed((done - started) / 1e9);
            return new Ready(running, session);
        });
    }

    private interface Preparation<T> {
        T run() throws IOException;
    }

    /**
     * Runs a resume or the making of a box, a few at a time: under TCG each takes a core for about
     * a second, and twenty at once only make every one of them slower.
     */
    private <T> T preparing(Preparation<T> preparation) throws IOException {
        try {
            preparations.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.HostFailure("interrupted while waiting to prepare a box");
        }
        try {
            return preparation.run();
        } finally {
            preparations.release();
        }
    }

    /**
     * Suspends the user's box if it runs and {@code stillIdle} holds under the user's lock (a
     * session that opened meanwhile keeps it up); its memory waits beside its disk. True when it
     * was suspended.
     */
    boolean suspend(User user, BooleanSupplier stillIdle) {
        synchronized (locks.computeIfAbsent(user.id(), k -> new Object())) {
            if (!stillIdle.getAsBoolean()) {
                return false;
            }
            Optional<Vm> running = find(boxName(user)).filter(v -> v.status() == VmStatus.RUNNING);
            running.ifPresent(v -> {
                long started = System.nanoTime();
                vms.suspend(v.id());
                events.suspended((System.nanoTime() - started) / 1e9);
            });
            return running.isPresent();
        }
    }

    private static String seconds(long nanos) {
        return String.format("%.2f", nanos / 1e9);
    }

    private Optional<Vm> find(String name) {
        return vms.find(name);
    }
}
