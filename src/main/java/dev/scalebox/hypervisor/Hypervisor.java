package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.FaultPoint;
import dev.scalebox.host.HostPrograms;
import dev.scalebox.host.ProcessTable;
import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * QEMU processes, one per VM, in a session of their own so that they keep running when the
 * service restarts. A process is recognised as ours by its pid file, its name
 * ({@code -name scalebox-ID}) in {@code /proc/PID/cmdline}, and its QMP socket; nothing else is
 * ever signalled.
 *
 * <p>QEMU is confined: it runs as a user of its own ({@link QemuUsers}) with no capabilities, and
 * under QEMU's seccomp sandbox with obsolete calls, privilege changes, process spawning and
 * resource control denied. The privileges are dropped by {@code setpriv} before QEMU runs, the
 * way libvirt drops them, not by {@code -runas}: QEMU 7.2 installs the sandbox before it changes
 * user and before {@code -daemonize} forks, so with {@code elevateprivileges=deny} and
 * {@code spawn=deny} either one kills it (SIGSYS).
 */
public final class Hypervisor {

    private static final Duration LAUNCH_TIMEOUT = Duration.ofSeconds(30);
    // PCI slots are fixed so that a blank QEMU given its disk and network later has the same
    // devices at the same addresses as the QEMU that saved the state it loads. The disk, network
    // and RNG had these slots before they were written down; the balloon, then the agent's channel, came after.
    private static final String DISK_SLOT = "0x2";
    private static final String RNG_SLOT = "0x4";
    private static final String BALLOON_SLOT = "0x5";
    private static final String AGENT_SLOT = "0x6";
    /** QEMU's own name for a machine's memory, so that states saved either way load into QEMUs started either way. */
    private static final String RAM_ID = "pc.ram";
    private static final String NAME_FILE = "qemu.name";
    private static final String LOG_FILE = "qemu.log";
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);
    private static final String SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";
    private static final Logger log = LoggerFactory.getLogger(Hypervisor.class);

    private final ProgramRunner runner;
    private final Accelerator accelerator;
    private final int tcgCacheMib;
    private final String kvmCpu;
    private final QemuUsers users;
    private final Taps taps;

    /**
     * Makes a VM's TAP device, owned by the user its QEMU runs as, so that no other user can attach
     * to it; {@code alone}: on no bridge and down, for a guest that must reach nothing.
     */
    @FunctionalInterface
    public interface Taps {
        void plug(String vmId, int owner, boolean alone);
    }

    public Hypervisor(ProgramRunner runner, Accelerator accelerator, int tcgCacheMib, QemuUsers users, Taps taps) {
        this(runner, accelerator, tcgCacheMib, "host", users, taps);
    }

    /** {@code kvmCpu} is the CPU model guests see under KVM (KVM_CPU_MODEL). */
    public Hypervisor(ProgramRunner runner, Accelerator accelerator, int tcgCacheMib, String kvmCpu, QemuUsers users,
                      Taps taps) {
        this.runner = runner;
        this.accelerator = accelerator;
        this.tcgCacheMib = tcgCacheMib;
        this.kvmCpu = kvmCpu;
        this.users = users;
        this.taps = taps;
    }

    /** Gives back what QEMUs that ended while no one watched were lent; see {@link QemuUsers#reclaimIdle}. */
    public void reclaimIdleUsers() {
        users.reclaimIdle();
    }

    /**
     * What a memory state saved here needs of the host that resumes it: the QEMU version (its
     * {@code --version} line) and the CPU model the guest sees: under KVM, {@code host} (so the
     * host's own CPU, named) or the model KVM_CPU_MODEL names; TCG's {@code max}.
     */
    public String qemuVersion() {
        return runner.check(List.of("qemu-system-x86_64", "--version"), Duration.ofSeconds(30)).stdout().lines()
                .findFirst().orElse("unknown").strip();
    }

    public String cpuModel() {
        if (accelerator == Accelerator.TCG) {
            return "tcg: max";
        }
        return kvmCpu.equals("host") ? "host: " + dev.scalebox.host.HostFacts.read().cpuModel() : "kvm: " + kvmCpu;
    }

    public Accelerator accelerator() {
        return accelerator;
    }

    /** Starts QEMU for {@code spec}; returns once the process runs and QMP answers. */
    public Instance start(VmSpec spec) {
        return start(spec, false, null);
    }

    /**
     * Starts QEMU for {@code spec} with the guest's memory in the file {@code memory} (made here),
     * which QEMU maps shared: {@link #suspend} then saves only the devices, and a VM resumed from
     * that state maps a copy of the file instead of loading every page (see {@link #resume}).
     * Such a state is saved without the network card, which each copy gets its own of once it runs.
     */
    public Instance startWithMemoryFile(VmSpec spec, Path memory) {
        try {
            Files.createDirectories(memory.getParent());
            Files.deleteIfExists(memory);
            Files.createFile(memory);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot make the memory file " + memory + ": " + e.getMessage(), e);
        }
        Instance instance = start(spec, false, new GuestMemory(memory, true));
        instance.keepsMemoryIn(memory);
        return instance;
    }

    /**
     * Saves the guest's memory and devices to {@code state} and ends its QEMU; the disk is
     * untouched from then on, so {@link #resume} can carry on where the guest was. For an
     * instance started by {@link #startWithMemoryFile} only the devices go to {@code state}:
     * the memory stays in its file, which belongs with the state from then on.
     */
    public Path suspend(Instance instance, Path runDir, Path state) {
        if (instance.memoryFile().isPresent()) {
            GuestNic.unplug(instance, instance.vmId());
        }
        MemoryState.save(instance, runDir, state, socket -> users.lend(instance.uid(), socket),
                instance.memoryFile().isPresent());
        try {
            instance.qmp().execute("quit", Map.of(), QMP_TIMEOUT);
        } catch (RuntimeException e) {
            log.debug("QMP quit of {}: {}", instance.vmId(), e.getMessage());  // QEMU may close before it answers
        }
        awaitExit(instance, Duration.ofSeconds(10));
        return state;
    }

    /**
     * Starts QEMU for {@code spec} from a saved state, and lets the guest run on; returns its
     * instance once {@code alongside} (work on the guest, run while its network card is made its
     * own) is done too. With {@code memory}, the file saved with a state of
     * {@link #startWithMemoryFile} (a copy of it of the VM's own), QEMU maps it privately, so the
     * guest's pages are read as it touches them and its writes never reach the file: a resume in
     * milliseconds whatever the guest's memory. On any failure the QEMU is ended; the state and
     * the file are untouched.
     */
    public Instance resume(VmSpec spec, Path state, Optional<Path> memory, Consumer<Instance> alongside) {
        Instance instance = start(spec, true, memory.map(file -> new GuestMemory(file, false)).orElse(null));
        try {
            MemoryState.load(instance, spec.runDir(), state, memory.isPresent());
            if (memory.isPresent()) {
                letRun(instance, alongside, () -> GuestNic.plug(instance.qmp(), spec, hostForward(spec)));
            } else {
                letRun(instance, spec, alongside);
            }
            return instance;
        } catch (RuntimeException e) {
            instance.end();
            throw new ScaleboxException.HostFailure(e.getMessage() + saidOnExit(spec), e);
        }
    }

    /**
     * Starts QEMU for {@code spec} from a template snapshot's {@code state}, mapping a copy of its
     * {@code memory} privately, and lets the guest run with no network card: a warm guest, which
     * {@link #handOver} later makes a VM's. On any failure the QEMU is ended.
     */
    public Instance resumeUnplugged(VmSpec spec, Path state, Path memory) {
        Instance instance = start(spec, true, new GuestMemory(memory, false));
        try {
            MemoryState.load(instance, spec.runDir(), state, true);
            instance.cont();
            return instance;
        } catch (RuntimeException e) {
            instance.end();
            throw new ScaleboxException.HostFailure(e.getMessage() + saidOnExit(spec), e);
        }
    }

    /**
     * Has the guest of {@code instance} (run directory {@code runDir}), which has no network card,
     * configure a card that reaches nothing and let go of it again, so that its own card is quicker
     * to come up (see {@link GuestNic#rehearse}).
     */
    public void rehearseNetworkCard(Instance instance, Path runDir) {
        GuestNic.rehearse(instance, runDir, LAUNCH_TIMEOUT.multipliedBy(2));
    }

    /**
     * Makes the running warm guest {@code warm} (see {@link #resumeUnplugged}) the VM of
     * {@code spec}, whose disk is the file the guest runs on, renamed: its run directory, process
     * name and console become the VM's, so a later Scalebox adopts it as the VM. Its network card
     * comes with {@link #connect}. On any failure the QEMU is ended.
     */
    public Instance handOver(Instance warm, VmSpec spec) {
        try {
            Files.createDirectories(spec.runDir());
            users.lend(warm.uid(), spec.runDir());
            return joined(warm, spec);
        } catch (IOException | RuntimeException e) {
            warm.end();
            throw new ScaleboxException.HostFailure(e.getMessage() + saidOnExit(spec), e);
        }
    }

    /**
     * Plugs the network card of {@code spec} into its VM's running guest (handed over by
     * {@link #handOver}), while {@code alongside} runs on the guest; on a failure the QEMU is ended.
     */
    public void connect(Instance instance, VmSpec spec, Consumer<Instance> alongside) {
        try {
            if (spec.bridged()) {
                taps.plug(spec.vmId(), instance.uid(), false);
            }
            alongside(instance, alongside, () -> GuestNic.plug(instance.qmp(), spec, hostForward(spec)));
        } catch (RuntimeException e) {
            instance.end();
            throw new ScaleboxException.HostFailure(e.getMessage() + saidOnExit(spec), e);
        }
    }

    /** Lets the guest just loaded run, and gives it its own network card while {@code alongside} runs. */
    private static void letRun(Instance instance, VmSpec spec, Consumer<Instance> alongside) {
        String loadedMac = spec.bridged() ? GuestNic.mac(instance) : "";
        letRun(instance, alongside, () -> GuestNic.makeOwn(instance, spec, loadedMac));
    }

    private static void letRun(Instance instance, Consumer<Instance> alongside, Runnable network) {
        instance.cont();
        alongside(instance, alongside, network);
    }

    /** Runs {@code network} and, at the same time, {@code alongside} on the running guest. */
    private static void alongside(Instance instance, Consumer<Instance> alongside, Runnable network) {
        CompletableFuture<Void> other = CompletableFuture.runAsync(() -> alongside.accept(instance),
                command -> Thread.ofVirtual().start(command));
        try {
            network.run();
        } finally {
            try {
                other.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
    }

    /**
     * Starts a blank QEMU of {@code spec}'s vCPUs and memory: no disk, network or console yet,
     * waiting for a saved state. {@link #resumeIn} later makes it a VM's.
     */
    public Instance startBlank(VmSpec spec) {
        if (!spec.isBlank()) {
            throw new IllegalArgumentException(spec.vmId() + " is not a blank instance");
        }
        return start(spec, true, null);
    }

    /**
     * Resumes the VM of {@code spec} from {@code state} in the blank QEMU {@code blank}: hands it
     * the VM's run directory, plugs in the VM's disk, network and console at the slots the saving
     * QEMU had them, loads the state and lets the guest run, as {@link #resume} does. On any
     * failure the QEMU is killed; the state is untouched.
     */
    public Instance resumeIn(Instance blank, VmSpec spec, Path state, Consumer<Instance> alongside) {
        try {
            Files.createDirectories(spec.runDir());
            users.lend(blank.uid(), spec.runDir(), spec.disk());
            if (spec.bridged()) {
                taps.plug(spec.vmId(), blank.uid(), false);
            }
            QmpClient qmp = blank.qmp();
            qmp.execute("blockdev-add", Map.of("driver", "raw", "node-name", "root", "discard", "unmap",
                    "file", Map.of("driver", "file", "filename", spec.disk().toString(), "discard", "unmap")), QMP_TIMEOUT);
            qmp.execute("device_add", Map.of("driver", "virtio-blk-pci", "drive", "root", "id", "root-disk",
                    "addr", DISK_SLOT, "write-cache", "on"), QMP_TIMEOUT);
            GuestNic.plug(qmp, spec, hostForward(spec));
            Instance joined = joined(blank, spec);
            FaultPoint.reach("join.plugged");
            MemoryState.load(joined, spec.runDir(), state, false);
            letRun(joined, spec, alongside);
            return joined;
        } catch (IOException | RuntimeException e) {
            blank.end();
            throw new ScaleboxException.HostFailure(e.getMessage() + saidOnExit(spec), e);
        }
    }

    /**
     * Moves the QEMU's pid file, QMP and agent sockets and log into the VM's run directory (a socket keeps
     * working under its new name) and records the process name there, so that a later Scalebox
     * adopts the process as this VM's; its serial port becomes the VM's console. The QEMU's own
     * directory goes.
     */
    private static Instance joined(Instance blank, VmSpec spec) {
        moveRunFiles(blank, spec);
        blank.qmp().execute("chardev-change", Map.of("id", "serial0", "backend", Map.of("type", "socket",
                "data", Map.of("addr", Map.of("type", "unix", "data", Map.of("path", spec.serialSocket().toString())),
                        "server", true, "wait", false,
                        "logfile", spec.serialLog().toString(), "logappend", true))), QMP_TIMEOUT);
        return blank.servingVm(spec.vmId());
    }

    private static void moveRunFiles(Instance blank, VmSpec spec) {
        Path from = spec.runDir().resolveSibling(blank.vmId());
        try {
            Files.writeString(spec.runDir().resolve(NAME_FILE), blank.processName() + "\n");
            Files.move(from.resolve("qemu.pid"), spec.pidFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.move(from.resolve("qmp.sock"), spec.qmpSocket(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.move(from.resolve(GuestAgent.SOCKET), spec.runDir().resolve(GuestAgent.SOCKET),
                    StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.move(from.resolve(LOG_FILE), spec.runDir().resolve(LOG_FILE), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);  // QEMU writes on into the file, under its new name
            try (Stream<Path> left = Files.list(from)) {  // a warm guest's own console
                for (Path file : left.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(from);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot hand " + blank.vmId() + " to " + spec.vmId() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Grows the running guest's disk to {@code bytes}: the file and the size the guest sees, which
     * its kernel hears of at once; its filesystem is the guest's to grow.
     */
    public void growDisk(Instance instance, long bytes) {
        QmpClient qmp = instance.qmp();
        String node = null;
        for (JsonNode block : qmp.execute("query-block", Map.of(), QMP_TIMEOUT)) {
            if (block.path("device").asString("").equals("root") || block.path("qdev").asString("").contains("root-disk")) {
                node = block.path("inserted").path("node-name").asString(null);
            }
        }
        if (node == null) {
            throw new ScaleboxException.HostFailure("the disk of " + instance.vmId() + " is not among its QEMU's block devices");
        }
        qmp.execute("block_resize", Map.of("node-name", node, "size", bytes), QMP_TIMEOUT);
    }

    /** {@code state}, when a suspended VM's memory was saved there. */
    public static Optional<Path> savedState(Path state) {
        return Files.isRegularFile(state) ? Optional.of(state) : Optional.empty();
    }

    /** The guest's memory in a file QEMU maps: {@code shared}, the file is the memory; else a private copy of it. */
    private record GuestMemory(Path file, boolean shared) {
    }

    private Instance start(VmSpec spec, boolean incoming, GuestMemory memory) {
        try {
            Files.createDirectories(spec.runDir());
            Files.deleteIfExists(spec.pidFile());
            Files.deleteIfExists(spec.qmpSocket());
            Files.deleteIfExists(spec.runDir().resolve(GuestAgent.SOCKET));
            Files.deleteIfExists(spec.runDir().resolve(NAME_FILE));
            Files.deleteIfExists(spec.runDir().resolve(LOG_FILE));
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot prepare " + spec.runDir() + ": " + e.getMessage(), e);
        }
        int uid = users.take();
        try {
            users.lend(uid, spec.runDir());
            if (!spec.isBlank()) {
                users.lend(uid, spec.disk());
                if (spec.bridged()) {
                    taps.plug(spec.vmId(), uid, spec.isolated());
                }
            }
            // A guest resumed with its memory mapped was saved without its network card.
            List<String> argv = confined(uid, argv(spec, memory == null || memory.shared()));
            if (memory != null) {
                users.lend(uid, memory.file());  // QEMU opens it for writing even to map it privately
                argv.addAll(List.of("-object", "memory-backend-file,id=" + RAM_ID + ",size=" + spec.memMib() + "M,mem-path="
                        + memory.file() + ",share=" + (memory.shared() ? "on" : "off"), "-machine", "memory-backend=" + RAM_ID));
            }
            if (incoming) {
                argv.addAll(List.of("-incoming", "defer"));
            }
            Instance instance = awaitQmp(spec, runner.spawn(argv, spec.runDir().resolve(LOG_FILE)));
            instance.onExit().thenRun(() -> users.reclaim(uid));
            return instance;
        } catch (RuntimeException e) {
            users.reclaim(uid);
            throw e;
        }
    }

    /**
     * Waits for the QEMU just started to answer on QMP, once its machine is made; kills it and
     * fails with what it wrote when it exits or does not answer in time.
     */
    private static Instance awaitQmp(VmSpec spec, Process qemu) {
        long deadline = System.nanoTime() + LAUNCH_TIMEOUT.toNanos();
        String name = processName(spec.vmId());
        while (qemu.isAlive() && System.nanoTime() < deadline) {
            if (Files.exists(spec.qmpSocket())) {
                Instance instance = null;
                try {
                    instance = Instance.watch(spec.vmId(), name, qemu.pid(), QmpClient.connect(spec.qmpSocket(), QMP_TIMEOUT));
                    instance.runState();  // answered from QEMU's main loop, which runs once the machine is made
                    return instance;
                } catch (RuntimeException e) {
                    if (instance != null) {
                        instance.release();
                        if (qemu.isAlive()) {
                            Instance.kill(qemu.pid(), name);
                            throw e;
                        }
                    }
                }
            }
            Sleep.millis(20, "QEMU started");
        }
        boolean exited = !qemu.isAlive();
        Instance.kill(qemu.pid(), name);
        throw new ScaleboxException.HostFailure(exited ? "QEMU exited at once: " + lastLines(spec.runDir().resolve(LOG_FILE))
                : "QEMU's QMP did not answer within " + LAUNCH_TIMEOUT.toSeconds() + " s");
    }

    /** {@code qemu} run as {@code uid}, in a session of its own, with no capabilities and under the sandbox. */
    private List<String> confined(int uid, List<String> qemu) {
        List<String> argv = new ArrayList<>(List.of("setsid", HostPrograms.require("setpriv").toString(),
                "--reuid=" + uid, "--regid=" + uid, kvmGroup().map(gid -> "--groups=" + gid).orElse("--clear-groups"),
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
                HostPrograms.require(qemu.getFirst()).toString()));
        argv.addAll(qemu.subList(1, qemu.size()));
        argv.addAll(List.of("-sandbox", SANDBOX));
        return argv;
    }

    /**
     * The group that may open /dev/kvm (kvm on Debian), when KVM is used and the device is not
     * open to all; with no such group QEMU says it cannot open the device.
     */
    private Optional<Integer> kvmGroup() {
        if (accelerator != Accelerator.KVM) {
            return Optional.empty();
        }
        try {
            Path kvm = Path.of("/dev/kvm");
            boolean open = Files.getPosixFilePermissions(kvm).containsAll(
                    Set.of(PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE));
            int group = (Integer) Files.getAttribute(kvm, "unix:gid");
            return open || group == 0 ? Optional.empty() : Optional.of(group);  // never root's group
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** What QEMU wrote before it ended, as a clause of an error message; empty when it wrote nothing. */
    private static String saidOnExit(VmSpec spec) {
        Path log = spec.runDir().resolve(LOG_FILE);
        String said = Files.exists(log) ? lastLines(log) : "";
        return said.isEmpty() ? "" : " (QEMU: " + said + ")";
    }

    /** The last lines QEMU wrote, where it tells why it ended. */
    private static String lastLines(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("; ", lines.subList(Math.max(0, lines.size() - 5), lines.size())).strip();
        } catch (IOException e) {
            return "(" + log + " cannot be read: " + e.getMessage() + ")";
        }
    }

    /** The live QEMU of {@code vmId} described by its run directory, if there is one and it is ours. */
    public Optional<Instance> adopt(String vmId, Path runDir) {
        Optional<Long> pid = ProcessTable.pidIn(runDir.resolve("qemu.pid"));
        String name = processNameIn(runDir).orElse(processName(vmId));
        if (pid.isEmpty() || !isOurs(pid.get(), name)) {
            return Optional.empty();
        }
        try {
            Instance instance = Instance.watch(vmId, name, pid.get(), QmpClient.connect(runDir.resolve("qmp.sock"), QMP_TIMEOUT));
            if (users.adopt(instance.uid())) {
                instance.onExit().thenRun(() -> users.reclaim(instance.uid()));
            }
            return Optional.of(instance);
        } catch (RuntimeException e) {
            log.warn("QEMU {} of {} is alive but its QMP does not answer: {}", pid.get(), vmId, e.getMessage());
            return Optional.empty();
        }
    }

    /** Asks the guest to power off (ACPI), and kills QEMU if it has not exited after {@code timeout}. */
    public void stop(Instance instance, Duration timeout) {
        Duration wait = timeout;
        try {
            instance.qmp().execute("system_powerdown", Map.of(), QMP_TIMEOUT);
        } catch (RuntimeException e) {
            wait = Duration.ZERO;
        }
        awaitExit(instance, wait);
    }

    /** Waits up to {@code timeout} for QEMU to exit, kills it otherwise, and closes its QMP connection. */
    private void awaitExit(Instance instance, Duration timeout) {
        try {
            instance.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            log.info("{} did not exit within {} s; killing QEMU {}", instance.vmId(), timeout.toSeconds(), instance.pid());
            instance.end();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            instance.end();
        } finally {
            instance.release();
        }
    }

    /** Whether process {@code pid} is a QEMU started with {@code -name processName}. */
    public static boolean isOurs(long pid, String processName) {
        return ProcessTable.arguments(pid).map(args -> {
            int name = args.indexOf("-name");
            return name >= 0 && name + 1 < args.size() && args.get(name + 1).equals(processName);
        }).orElse(false);
    }


    /**
     * The process name of a QEMU that was started blank and then given the VM of {@code runDir},
     * as {@link #resumeIn} recorded it there.
     */
    public static Optional<String> processNameIn(Path runDir) {
        try {
            return Optional.of(Files.readString(runDir.resolve(NAME_FILE)).strip());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public static String processName(String vmId) {
        return "scalebox-" + vmId;
    }

    List<String> argv(VmSpec spec) {
        return argv(spec, true);
    }

    private List<String> argv(VmSpec spec, boolean networkCard) {
        List<String> argv = new ArrayList<>(List.of("qemu-system-x86_64", "-name", processName(spec.vmId())));
        argv.addAll(accelerator.qemuArgs(tcgCacheMib, kvmCpu));
        argv.addAll(List.of(
                "-m", Integer.toString(spec.memMib()),
                "-smp", Integer.toString(spec.vcpus()),
                "-nodefaults", "-no-user-config", "-display", "none",
                "-kernel", spec.kernel().toString()));
        if (spec.initrd() != null) {
            argv.addAll(List.of("-initrd", spec.initrd().toString()));
        }
        argv.addAll(List.of(
                "-append", accelerator.guestCmdline(spec.cmdline()),
                "-device", "virtio-rng-pci,addr=" + RNG_SLOT,
                "-device", "virtio-balloon-pci,id=" + Instance.BALLOON_ID + ",free-page-reporting=on,addr=" + BALLOON_SLOT,
                "-device", "virtio-serial-pci,id=agent-bus,addr=" + AGENT_SLOT,
                "-chardev", "socket,id=agent,path=" + spec.runDir().resolve(GuestAgent.SOCKET) + ",server=on,wait=off",
                "-device", "virtserialport,bus=agent-bus.0,chardev=agent,name=" + GuestAgent.PORT_NAME,
                "-qmp", "unix:" + spec.qmpSocket() + ",server=on,wait=off",
                "-pidfile", spec.pidFile().toString()));
        if (spec.isBlank()) {
            argv.addAll(List.of("-chardev", "null,id=serial0", "-serial", "chardev:serial0"));
            return argv;
        }
        argv.addAll(List.of(
                "-drive", "file=" + spec.disk() + ",format=raw,if=none,id=root,discard=unmap",
                "-device", "virtio-blk-pci,drive=root,id=root-disk,addr=" + DISK_SLOT));
        if (networkCard) {
            argv.addAll(List.of(
                    "-netdev", spec.bridged() ? "tap,id=net0,ifname=" + spec.tap() + ",script=no,downscript=no"
                            : spec.isolated() ? "user,id=net0,restrict=on" : "user,id=net0,hostfwd=" + hostForward(spec),
                    "-device", "virtio-net-pci,netdev=net0,id=net0-nic,addr=" + GuestNic.SLOT
                            + (spec.bridged() ? ",mac=" + spec.mac() : "")));
        }
        argv.addAll(List.of(
                "-chardev", "socket,id=serial0,path=" + spec.serialSocket() + ",server=on,wait=off,logfile="
                        + spec.serialLog() + ",logappend=on",
                "-serial", "chardev:serial0"));
        return argv;
    }

    private static String hostForward(VmSpec spec) {
        return "tcp:" + spec.bindAddress() + ":" + spec.sshPort() + "-:22";
    }
}
