package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each user's box: a VM named {@code box-USERID} made from the box template with the gateway's
 * internal key, so the user's own key never has to be inside it. Two connections of one user at
 * once wait on the same lock and get the same box; the operations below take it too.
 */
public final class Boxes {

    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(3);

    private final VmService vms;
    private final Users users;
    private final String template;
    private final String internalKey;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    Boxes(VmService vms, Users users, String template, String internalKey) {
        this.vms = vms;
        this.users = users;
        this.template = template;
        this.internalKey = internalKey;
    }

    /** Where the boxes' SSH ports are forwarded on this host. */
    String host() {
        return vms.localSshHost();
    }

    static String boxName(User user) {
        return boxName(user.id());
    }

    private static String boxName(String userId) {
        return BOX_PREFIX + userId;
    }

    private static final String BOX_PREFIX = "box-";

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
        return vms.list().stream().filter(v -> v.name().equals(boxName(id))).findFirst()
                .orElseThrow(() -> new ScaleboxException.NotFound("Box not found"));
    }

    private Box toBox(Vm vm) {
        String userId = vm.name().substring(BOX_PREFIX.length());
        String user = users.find(userId).map(User::name).orElse(null);
        return new Box(userId, user, vm.id(), vm.status().label(), vm.statusReason(), vm.diskSizeGib(), vm.createdAt());
    }

    /** A box ready for a session; {@code resumed} when it came back from a suspend just now. */
    record Ready(Vm vm, boolean resumed) {
    }

    /** The user's box, made, started or resumed when needed, once its SSH answers. */
    Ready ensureRunning(User user) {
        synchronized (locks.computeIfAbsent(user.id(), k -> new Object())) {
            String name = boxName(user);
            Optional<Vm> existing = vms.list().stream().filter(v -> v.name().equals(name)).findFirst();
            Vm box = existing.orElseGet(() -> vms.create(new CreateVm(template, internalKey, name, null, null, null)));
            boolean resumed = box.status() == VmStatus.SUSPENDED;
            if (resumed || box.status() == VmStatus.STOPPED || box.status() == VmStatus.ERROR) {
                box = vms.start(box.id());
            }
            return new Ready(awaitRunning(box.id()), resumed);
        }
    }

    /**
     * Suspends the user's box if it runs and {@code stillIdle} holds under the user's lock (a
     * session that opened meanwhile keeps it up); its memory waits beside its disk.
     */
    void suspend(User user, java.util.function.BooleanSupplier stillIdle) {
        synchronized (locks.computeIfAbsent(user.id(), k -> new Object())) {
            if (!stillIdle.getAsBoolean()) {
                return;
            }
            String name = boxName(user);
            vms.list().stream().filter(v -> v.name().equals(name) && v.status() == VmStatus.RUNNING).findFirst()
                    .ifPresent(v -> vms.suspend(v.id()));
        }
    }

    private Vm awaitRunning(String id) {
        long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Vm vm = vms.get(id);
            if (vm.status() == VmStatus.RUNNING) {
                return vm;
            }
            if (vm.status() == VmStatus.ERROR || vm.status() == VmStatus.STOPPED) {
                throw new ScaleboxException.HostFailure("your box did not start: " + vm.statusReason());
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ScaleboxException.HostFailure("interrupted while your box started");
            }
        }
        throw new ScaleboxException.HostFailure("your box did not answer within " + BOOT_TIMEOUT.toMinutes() + " minutes");
    }
}
