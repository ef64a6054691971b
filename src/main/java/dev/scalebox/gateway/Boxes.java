package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;
import dev.scalebox.vm.Admission;
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
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

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

        /** User {@code userId}'s box: {@code connected} (a session of theirs reached it) or {@code suspended}. */
        default void box(String userId, String what) {
        }
    }

    private final VmService vms;
    private final Users users;
    private final BoxSpec spec;
    private final String internalKey;
    private final BoxGuest guest;
    private final VolumePool pool;
    private final RemoteBoxes remote;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    /** The QEMU (its pid) each box was last set up in: a box in another one is set up again. */
    private final Map<String, Long> setUp = new ConcurrentHashMap<>();
    private final List<Events> listeners = new CopyOnWriteArrayList<>();
    /** Tells every listener. */
    private final Events events = new Events() {
        @Override
        public void connected(String result) {
            listeners.forEach(l -> l.connected(result));
        }

        @Override
        public void resumed(double seconds) {
            listeners.forEach(l -> l.resumed(seconds));
        }

        @Override
        public void suspended(double seconds) {
            listeners.forEach(l -> l.suspended(seconds));
        }

        @Override
        public void box(String userId, String what) {
            listeners.forEach(l -> l.box(userId, what));
        }
    };
    private volatile IdleBoxes idle = exceptUserId -> false;

    /** Suspends, at once, the box that has been idle longest (its user's last session closed), other than one user's. */
    interface IdleBoxes {
        boolean suspendLongestIdle(String exceptUserId);
    }

    /** Moves a suspended box of this host to another host whose box pool has room to run it. */
    public interface Relocation {
        /** The host the box of VM {@code vmId} can go to and run at once; empty when no host has room for it. */
        Optional<String> placeToRun(String vmId);

        /** Moves the box of VM {@code vmId} to {@code host}. */
        void move(String vmId, String host);
    }

    private volatile Relocation relocation;
    private volatile Supplier<Optional<HostStore.BoxPoolTotals>> clusterTotals = Optional::empty;

    /** {@code remote} is null when boxes on other hosts are not reached from here. */
    Boxes(VmService vms, Users users, BoxSpec spec, String internalKey, BoxGuest guest, VolumePool pool,
          RemoteBoxes remote) {
        this.vms = vms;
        this.users = users;
        this.spec = spec;
        this.internalKey = internalKey;
        this.guest = guest;
        this.pool = pool;
        this.remote = remote;
    }

    /** Where room is made when all POOL_INSTANCES_TOTAL instances run. */
    void whenFull(IdleBoxes idleBoxes) {
        this.idle = idleBoxes;
    }

    /**
     * Where a suspended box goes when its user connects and this host has no instance for it
     * (every one in a connected user's hands); unset, the connection is refused.
     */
    public void relocateWith(Relocation relocation) {
        this.relocation = relocation;
    }

    /** Where the totals of every host's box pool are read, for {@link #pool()}. */
    public void clusterTotalsFrom(Supplier<Optional<HostStore.BoxPoolTotals>> totals) {
        this.clusterTotals = totals;
    }

    public void onEvents(Events listener) {
        listeners.add(listener);
    }

    Events events() {
        return events;
    }

    /** The pool's levels against its targets, and every host's pools' totals on a host of several. */
    public VolumePool.Status pool() {
        return pool.status().withCluster(clusterTotals.get().orElse(null));
    }

    /** This host's pool's levels, which its heartbeat tells the other hosts. */
    public HostStore.BoxPool poolLevels() {
        return pool.status().levels();
    }

    static String boxName(User user) {
        return boxName(user.id());
    }

    private static String boxName(String userId) {
        return BOX_PREFIX + userId;
    }

    /** This host's boxes. */
    public List<Box> list() {
        return vms.list().stream().filter(v -> v.name().startsWith(BOX_PREFIX)).map(this::toBox).toList();
    }

    /** The boxes of every host of the store, each with its host. */
    public List<Box> listAll() {
        return vms.listAll().stream().filter(v -> v.name().startsWith(BOX_PREFIX)).map(this::toBox).toList();
    }

    /** The box of user {@code id} (a box's id is its user's id); 404 when it has none. */
    public Box get(String id) {
        return toBox(vm(id));
    }

    /** The box of user {@code id}, on whichever host; empty when there is none. */
    public Optional<Box> locate(String id) {
        return id != null && id.matches("[0-9a-f]{16}") ? find(boxName(id)).map(this::toBox) : Optional.empty();
    }

    /**
     * Moves the box away with {@code move} (given its VM's id), under its user's lock so that no
     * session resumes it meanwhile; what {@code move} returns.
     */
    public <T> T moveAway(String id, Function<String, T> move) {
        synchronized (locks.computeIfAbsent(id, k -> new Object())) {
            Vm vm = vm(id);
            T moved = move.apply(vm.id());
            setUp.remove(vm.id());
            return moved;
        }
    }

    /** Suspends the box now, as its idle time would; 409 unless it runs. */
    public Box suspend(String id) {
        synchronized (locks.computeIfAbsent(id, k -> new Object())) {
            Box box = toBox(vms.suspend(vm(id).id()));
            events.box(id, "suspended");
            return box;
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
            setUp.remove(vm.id());
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
        return new Box(userId, user, vm.id(), vm.status().label(), vm.statusReason(), vm.diskSizeGib(), vm.createdAt(),
                vm.host());
    }

    /**
     * A box ready for a session. {@code session} is the gateway's SSH session into it when one had
     * to be opened to set the box up after a resume; the caller uses it and closes it.
     */
    record Ready(Vm vm, ClientSession session) {
    }

    /**
     * The user's box running and set up, with an SSH session into it: their own box made (from a
     * ready one of the pool, else from the golden state, else booted from the template), started
     * or resumed when needed, each start in its turn in the host's line; {@code progress} is told
     * once when the connection waits in that line. A box that lives on another host is reached
     * there: the session is that host's gateway's, unless this one was carried here from another
     * host already ({@code carry}). A suspended box for which this host has no instance moves to
     * a host that has one, and the session is carried after it, unless it came after a move already.
     */
    Ready open(User user, RemoteBoxes.Carry carry, Consumer<String> progress) throws IOException {
        Optional<Vm> elsewhere = find(boxName(user)).filter(v -> !vms.isHere(v));
        if (elsewhere.isPresent()) {
            String host = elsewhere.get().host();
            if (remote == null || carry != RemoteBoxes.Carry.NONE) {
                throw new ScaleboxException.Conflict("your box is on host " + host + (remote != null
                        ? ", and this session was carried here from another host already" : "; connect to that host's gateway"));
            }
            return new Ready(elsewhere.get(), remote.connect(host, user, false));
        }
        if (!makeRoom(user)) {
            Relocation relocation = this.relocation;
            boolean mayMove = carry != RemoteBoxes.Carry.AFTER_MOVE && remote != null && relocation != null;
            Optional<Ready> moved = mayMove ? moveToRun(user, relocation, progress) : Optional.empty();
            return moved.orElseThrow(() -> new ScaleboxException.Conflict("every box instance this host runs"
                    + " (POOL_INSTANCES_TOTAL, " + pool.status().instances().total() + ") is in use by a connected user"
                    + (mayMove ? ", and no other host could take your box" : "") + "; try again later"));
        }
        Ready ready;
        synchronized (locks.computeIfAbsent(user.id(), k -> new Object())) {
            ready = ensureReady(user, progress);
        }
        return ready.session() != null ? ready : new Ready(ready.vm(), guest.connect(ready.vm()));
    }

    /**
     * Keeps box instances within POOL_INSTANCES_TOTAL when the user's box needs one: a warm
     * instance ends first, else the box idle longest is suspended now instead of at the end of its
     * idle time; false with every instance in a connected user's hands. Done before the user's
     * lock is taken, since it takes another user's: two connections at the same moment may both
     * pass, so the total can be passed by the connections in flight.
     */
    private boolean makeRoom(User user) {
        Optional<Vm> box = find(boxName(user));
        if (box.isEmpty()) {
            requireRoomForNewBox();
        }
        // A resume (of a ready box or a suspended one) takes a warm instance when one waits; a boot does not.
        boolean needsInstance = box.map(v -> v.status() == VmStatus.SUSPENDED ? !pool.hasWarm()
                : v.status() == VmStatus.STOPPED || v.status() == VmStatus.ERROR).orElseGet(() -> !pool.hasWarm());
        return !needsInstance || pool.makeInstanceRoom() || idle.suspendLongestIdle(user.id());
    }

    /**
     * Moves the user's suspended box, under their lock, to a host whose pool has room to run it
     * ({@code progress} is told where), and carries the session after it; empty when the box does
     * not wait suspended here or no host has room.
     */
    private Optional<Ready> moveToRun(User user, Relocation relocation, Consumer<String> progress) throws IOException {
        Optional<String> to;
        synchronized (locks.computeIfAbsent(user.id(), k -> new Object())) {
            Optional<Vm> box = find(boxName(user)).filter(v -> vms.isHere(v) && v.status() == VmStatus.SUSPENDED);
            if (box.isEmpty()) {
                return Optional.empty();
            }
            to = relocation.placeToRun(box.get().id());
            if (to.isPresent()) {
                progress.accept("this host has no room to run your box: it moves to host " + to.get() + " first");
                relocation.move(box.get().id(), to.get());
                setUp.remove(box.get().id());
            }
        }
        if (to.isEmpty()) {
            return Optional.empty();
        }
        log.info("Box of user {} moved to host {}, which has room to run it; its session follows", user.id(), to.get());
        return Optional.of(new Ready(find(boxName(user)).orElseThrow(), remote.connect(to.get(), user, true)));
    }

    private Ready ensureReady(User user, Consumer<String> progress) throws IOException {
        String name = boxName(user);
        Optional<Vm> existing = find(name);
        if (existing.isEmpty()) {
            return newBox(name, progress);
        }
        Vm box = existing.get();
        if (box.status() == VmStatus.RUNNING && isSetUp(box)) {
            return new Ready(box, null);
        }
        return start(box, name, progress);
    }

    /**
     * Starts (resumes, boots) the box when it does not run, and sets it up: a box is handed out
     * only with its hostname and clock set since its QEMU started, on every path.
     */
    private Ready start(Vm box, String hostname, Consumer<String> progress) throws IOException {
        long started = System.nanoTime();
        boolean resuming = box.status() == VmStatus.SUSPENDED;
        if (box.status() != VmStatus.RUNNING && box.status() != VmStatus.STARTING) {
            vms.start(box.id(), Admission.Priority.PERSON);
            pool.refillSoon();
        }
        Vm running = box.status() == VmStatus.RUNNING ? box : BoxGuest.awaitRunning(vms, box.id(), progress);
        long answered = System.nanoTime();
        Ready ready = setUp(running, hostname, false);
        if (resuming) {
            long done = System.nanoTime();
            log.info("Resumed box {} in {} s ({} s to its SSH banner, {} s to log in and set it up)", hostname,
                    seconds(done - started), seconds(answered - started), seconds(done - answered));
            events.resumed((done - started) / 1e9);
        }
        return ready;
    }

    /**
     * Sets the running box's hostname and clock, with {@code renew} its own secrets too: through its
     * guest agent, else by logging in (then the session is handed on).
     */
    private Ready setUp(Vm running, String hostname, boolean renew) throws IOException {
        if (guest.afterResumeByAgent(vms, running, hostname, renew)) {
            markSetUp(running);
            return new Ready(running, null);
        }
        ClientSession session = guest.connect(running);
        try {
            guest.afterResume(session, hostname, renew);
        } catch (IOException | RuntimeException e) {
            session.close(true);
            throw e;
        }
        markSetUp(running);
        return new Ready(running, session);
    }

    /** Whether the box's QEMU now is the one that was last set up. */
    private boolean isSetUp(Vm box) {
        OptionalLong pid = vms.processId(box.id());
        return pid.isPresent() && setUp.getOrDefault(box.id(), -1L) == pid.getAsLong();
    }

    private void markSetUp(Vm box) {
        vms.processId(box.id()).ifPresent(pid -> setUp.put(box.id(), pid));
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

    private Ready newBox(String name, Consumer<String> progress) throws IOException {
        requireRoomForNewBox();
        Optional<Vm> claimed = pool.claim(name);
        if (claimed.isPresent()) {
            return start(claimed.get(), name, progress);  // a ready box is unique already
        }
        requireRoomForNewBox();  // the ready box seen a moment ago may have gone to another user
        Optional<Vm> golden = pool.golden(Admission.Priority.PERSON, progress);
        if (golden.isPresent()) {
            VolumePool.Unique made = pool.makeUnique(golden.get(), name, Admission.Priority.PERSON, progress);
            Vm box = vms.rename(made.vm().id(), name);
            markSetUp(box);
            return new Ready(box, made.session());
        }
        // Without a golden state (its making failed) the box boots from its template, which makes
        // its own host key and machine id on that first boot; it is set up before it is handed out.
        Vm box = vms.create(new CreateVm(spec.template(), internalKey, name, spec.vcpus(), spec.memMib(), null, null), true,
                Admission.Priority.PERSON);
        try {
            return setUp(BoxGuest.awaitRunning(vms, box.id(), progress), name, true);
        } catch (IOException | RuntimeException e) {
            vms.delete(box.id());
            throw new ScaleboxException.HostFailure("your box could not be made ready: " + e.getMessage(), e);
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
            Optional<Vm> running = find(boxName(user)).filter(v -> v.status() == VmStatus.RUNNING && vms.isHere(v));
            running.ifPresent(v -> {
                long started = System.nanoTime();
                vms.suspend(v.id());
                events.suspended((System.nanoTime() - started) / 1e9);
                events.box(user.id(), "suspended");
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
