package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each user's box: a VM named {@code box-USERID} made from the box template with the gateway's
 * internal key, so the user's own key never has to be inside it. Two connections of one user at
 * once wait on the same lock and get the same box.
 */
final class Boxes {

    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(3);

    private final VmService vms;
    private final String template;
    private final String internalKey;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    Boxes(VmService vms, String template, String internalKey) {
        this.vms = vms;
        this.template = template;
        this.internalKey = internalKey;
    }

    static String boxName(User user) {
        return "box-" + user.id();
    }

    /** The user's box, made or started when needed, once its SSH answers. */
    Vm ensureRunning(User user) {
        synchronized (locks.computeIfAbsent(user.id(), k -> new Object())) {
            String name = boxName(user);
            Optional<Vm> existing = vms.list().stream().filter(v -> v.name().equals(name)).findFirst();
            Vm box = existing.orElseGet(() -> vms.create(new CreateVm(template, internalKey, name, null, null, null)));
            if (box.status() == VmStatus.STOPPED || box.status() == VmStatus.ERROR) {
                box = vms.start(box.id());
            }
            return awaitRunning(box.id());
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
