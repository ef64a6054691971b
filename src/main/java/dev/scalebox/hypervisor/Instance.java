package dev.scalebox.hypervisor;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A running QEMU process of ours: the VM it serves, its {@code -name} (which tells it is ours),
 * its pid, its start time (which tells it from a later process given the same pid) and its QMP
 * connection, which stays inside this package. QEMU is not our child, so its exit is polled.
 */
public final class Instance {

    private static final long POLL_MILLIS = 250;
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);
    /** The id of every VM's virtio balloon, which reports the guest's memory figures. */
    static final String BALLOON_ID = "balloon0";
    private static final String BALLOON = "/machine/peripheral/" + BALLOON_ID;
    private static final int BALLOON_POLL_SECONDS = 5;
    private static final Pattern RIP = Pattern.compile("RIP=([0-9a-f]{16})");
    private static final long KERNEL_HALF = 0xffff800000000000L;
    private static final Logger log = LoggerFactory.getLogger(Instance.class);

    private final String vmId;
    private final String processName;
    private final long pid;
    private final long startTime;
    private final int uid;
    private final QmpClient qmp;
    private volatile boolean balloonPolled;
    private volatile Path memoryFile;
    private final CompletableFuture<Void> exit;

    private Instance(String vmId, String processName, long pid, long startTime, int uid, QmpClient qmp,
                     CompletableFuture<Void> exit) {
        this.vmId = vmId;
        this.processName = processName;
        this.pid = pid;
        this.startTime = startTime;
        this.uid = uid;
        this.qmp = qmp;
        this.exit = exit;
    }

    /** Watches the process from now on; the exit future is already complete when it is gone. */
    static Instance watch(String vmId, String processName, long pid, QmpClient qmp) {
        long startTime = ProcessStatus.startTime(pid).orElse(-1);
        int uid = ProcessStatus.uid(Path.of("/proc", Long.toString(pid))).orElse(-1);
        CompletableFuture<Void> exit = new CompletableFuture<>();
        Thread.ofVirtual().name("exit-" + vmId).start(() -> {
            try {
                while (ProcessStatus.isAlive(pid, startTime)) {
                    Thread.sleep(POLL_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exit.complete(null);
        });
        return new Instance(vmId, processName, pid, startTime, uid, qmp, exit);
    }

    /** The same process, now serving VM {@code id}. */
    Instance servingVm(String id) {
        return new Instance(id, processName, pid, startTime, uid, qmp, exit);
    }

    /** Marks the guest's memory as the file {@code file}, which QEMU maps shared. */
    void keepsMemoryIn(Path file) {
        memoryFile = file;
    }

    /** The file that is the guest's memory, for an instance started with one shared. */
    Optional<Path> memoryFile() {
        return Optional.ofNullable(memoryFile);
    }

    public String vmId() {
        return vmId;
    }

    public String processName() {
        return processName;
    }

    public long pid() {
        return pid;
    }

    /** The user the process runs as (see {@link QemuUsers}); -1 when it was gone before it was watched. */
    public int uid() {
        return uid;
    }

    QmpClient qmp() {
        return qmp;
    }

    public boolean isAlive() {
        return ProcessStatus.isAlive(pid, startTime);
    }

    /** Completes when the process has exited or is a zombie. */
    public CompletableFuture<Void> onExit() {
        return exit;
    }

    /** The CPU time the process has used, all its threads, in seconds; -1 once it is gone. */
    public double cpuSeconds() {
        return isAlive() ? ProcessStatus.cpuSeconds(pid) : -1;
    }

    /** QEMU's resident memory in bytes: the guest's memory it touched and its own; -1 when it is gone. */
    public long rssBytes() {
        return isAlive() ? ProcessStatus.rssBytes(pid) : -1;
    }

    /**
     * The guest's memory in use (its total less what it has available), from the statistics its
     * balloon driver reports; empty until the guest has reported once, or when QMP does not say.
     * The first call asks the guest to report every few seconds.
     */
    public OptionalLong guestMemoryInUse() {
        try {
            if (!balloonPolled) {
                qmp.execute("qom-set", Map.of("path", BALLOON, "property", "guest-stats-polling-interval",
                        "value", BALLOON_POLL_SECONDS), QMP_TIMEOUT);
                balloonPolled = true;
            }
            var reply = qmp.execute("qom-get", Map.of("path", BALLOON, "property", "guest-stats"), QMP_TIMEOUT);
            long total = reply.path("stats").path("stat-total-memory").asLong(-1);
            long available = reply.path("stats").path("stat-available-memory").asLong(-1);
            if (reply.path("last-update").asLong(0) == 0 || total <= 0 || available < 0 || available > total) {
                return OptionalLong.empty();
            }
            return OptionalLong.of(total - available);
        } catch (RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * What QMP says of the guest: {@code running}, {@code paused}, {@code inmigrate},
     * {@code postmigrate}, {@code guest-panicked}, {@code internal-error}, ... (QEMU's RunState).
     */
    public String runState() {
        return qmp.execute("query-status", Map.of(), QMP_TIMEOUT).path("status").asString("");
    }

    /**
     * How many reads, writes and flushes the guest has made of its disks: none until its kernel
     * has found them, and more all along a boot.
     */
    public long diskOperations() {
        long operations = 0;
        for (var device : qmp.execute("query-blockstats", Map.of(), QMP_TIMEOUT)) {
            var stats = device.path("stats");
            operations += stats.path("rd_operations").asLong(0) + stats.path("wr_operations").asLong(0)
                    + stats.path("flush_operations").asLong(0);
        }
        return operations;
    }

    /**
     * Whether the guest's kernel runs: its first vCPU executes in the kernel's half of the address
     * space, past the firmware and the kernel's decompressor (x86-64). False when QMP does not say.
     */
    public boolean kernelRunning() {
        String registers = qmp.execute("human-monitor-command", Map.of("command-line", "info registers"), QMP_TIMEOUT)
                .asString("");
        Matcher rip = RIP.matcher(registers);
        return rip.find() && Long.compareUnsigned(Long.parseUnsignedLong(rip.group(1), 16), KERNEL_HALF) >= 0;
    }

    /**
     * Whether the guest has brought its network interface up: its driver has set the NIC's
     * multicast filter, as Linux does when an interface comes up. Until then a connection to a
     * forwarded port waits for an answer that cannot come.
     */
    public boolean networkUp() {
        for (var nic : qmp.execute("query-rx-filter", Map.of(), QMP_TIMEOUT)) {
            if (!nic.path("multicast-table").isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /** Lets a paused guest run on. */
    public void cont() {
        qmp.execute("cont", Map.of(), QMP_TIMEOUT);
    }

    /**
     * Pauses the guest's vCPUs. QEMU drains the disk's in-flight requests before {@code stop}
     * answers, so the image file then holds a crash-consistent state until {@link #cont}.
     */
    public void pause() {
        qmp.execute("stop", Map.of(), QMP_TIMEOUT);
    }

    /** Lets go of the QMP connection; the process runs on. */
    public void release() {
        qmp.close();
    }

    /** Kills the process if it is still ours, waits for it to be gone, and closes its QMP connection. */
    public void end() {
        try {
            kill(pid, processName);
        } finally {
            qmp.close();
        }
    }

    static void kill(long pid, String processName) {
        ProcessHandle.of(pid).filter(h -> Hypervisor.isOurs(pid, processName)).ifPresent(h -> {
            long started = ProcessStatus.startTime(pid).orElse(-1);
            h.destroyForcibly();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ProcessStatus.isAlive(pid, started)) {
                if (System.nanoTime() > deadline) {
                    log.error("QEMU {} ({}) did not die after SIGKILL", pid, processName);
                    return;
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        });
    }

    @Override
    public String toString() {
        return processName + " (pid " + pid + ")";
    }
}
