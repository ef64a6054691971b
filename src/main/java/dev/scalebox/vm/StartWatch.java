package dev.scalebox.vm;

import dev.scalebox.hypervisor.ConsoleLog;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.hypervisor.SshProbe;
import dev.scalebox.store.VmStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Follows a starting guest, on a thread of its own, from its QEMU's start until its SSH answers
 * with its banner, holding the start's place in the host's line until then. Every few seconds it
 * looks at what the guest does (its QEMU's CPU time, its disk operations, its console, QMP's run
 * state) and lets {@link BootProgress} judge whether it still makes progress; the owner decides
 * what a stuck guest gets. It notes the kernel's milestone (its first vCPU in the kernel) on the way.
 */
final class StartWatch {

    private static final long LOOK_EVERY_NANOS = Duration.ofSeconds(5).toNanos();
    private static final Logger log = LoggerFactory.getLogger(StartWatch.class);

    /** The runtime that owns the instance and the VM's state. */
    interface Owner {
        /** Whether {@code instance} is alive and still the VM's. */
        boolean isCurrent(String vmId, Instance instance);

        /** The guest answered: the VM runs, if it is still this instance's. */
        void answered(VmStore.Row row, Instance instance, Boot boot);

        /** The guest is stuck; true when its place in line went on to a boot again. */
        boolean stuck(VmStore.Row row, Instance instance, Admission.Ticket ticket, String why, boolean mayRetry);
    }

    private final Owner owner;
    private final BootLimits limits;
    private final String probeHost;
    private final Path runDirs;

    StartWatch(Owner owner, BootLimits limits, String probeHost, Path runDirs) {
        this.owner = owner;
        this.limits = limits;
        this.probeHost = probeHost;
        this.runDirs = runDirs;
    }

    void follow(VmStore.Row row, Instance instance, Admission.Ticket ticket, Boot boot, boolean mayRetry) {
        Thread.ofVirtual().name("start-watch-" + row.id()).start(() -> await(row, instance, ticket, boot, mayRetry));
    }

    /**
     * What the watch waits for next. A boot goes through all three; a resumed or adopted guest's
     * kernel and network are up already. SSH is not tried before the guest's network is up: a
     * connection to a forwarded port before then waits, unanswered, for as long as the forwarding
     * keeps trying, and lands on the guest later among others.
     */
    private enum Stage { KERNEL, NETWORK, SSH }

    private void await(VmStore.Row row, Instance instance, Admission.Ticket ticket, Boot boot, boolean mayRetry) {
        String id = row.id();
        boolean handedOn = false;
        try {
            BootProgress progress = new BootProgress(limits);
            Path runDir = runDirs.resolve(id);
            long consoleStart = consoleSize(runDir);
            long nextLook = System.nanoTime();
            long disk = 0;
            Stage stage = boot.isBoot() ? Stage.KERNEL : Stage.SSH;
            while (owner.isCurrent(id, instance)) {
                long now = System.nanoTime();
                if (now >= nextLook) {
                    nextLook = now + LOOK_EVERY_NANOS;
                    disk = diskOperations(instance).orElse(disk);
                    Optional<String> stuck = progress.judge(look(instance, runDir, consoleStart, disk, now));
                    if (stuck.isPresent()) {
                        handedOn = owner.stuck(row, instance, ticket, stuck.get(), mayRetry);
                        return;
                    }
                }
                switch (stage) {
                    case KERNEL -> {
                        Optional<Boolean> running = ask(instance::kernelRunning);
                        if (running.orElse(true)) {
                            boot = running.isPresent() ? boot.withKernelUp() : boot;
                            stage = Stage.NETWORK;
                        }
                    }
                    case NETWORK -> stage = ask(instance::networkUp).orElse(true) ? Stage.SSH : Stage.NETWORK;
                    case SSH -> {
                        if (SshProbe.probe(probeHost, row.sshPort()) == SshProbe.Answer.ANSWERED) {
                            owner.answered(row, instance, boot.withAnswer());
                            return;
                        }
                    }
                }
                Thread.sleep(stage == Stage.SSH ? 100 : 250);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (owner.isCurrent(id, instance)) {
                log.warn("Watching the start of VM {} failed: {}", id, e.getMessage());
            }
        } finally {
            if (!handedOn) {
                ticket.close();
            }
        }
    }

    /** What QMP says; empty when it cannot say (busy, or the process going), and the watch goes on without it. */
    private static Optional<Boolean> ask(java.util.function.BooleanSupplier question) {
        try {
            return Optional.of(question.getAsBoolean());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static BootProgress.Sample look(Instance instance, Path runDir, long consoleStart, long disk, long now) {
        String runState;
        try {
            runState = instance.runState();
        } catch (RuntimeException e) {
            runState = "unknown";  // QMP busy or the process going: the exit watcher sees the latter
        }
        long console = consoleSize(runDir);
        boolean panic = console > consoleStart
                && ConsoleLog.since(runDir, consoleStart).contains("Kernel panic - not syncing");
        return new BootProgress.Sample(now, instance.cpuSeconds(), console, disk, runState, panic);
    }

    /** The guest's disk operations so far; empty when QMP does not say (busy, or the process going). */
    private static OptionalLong diskOperations(Instance instance) {
        try {
            return OptionalLong.of(instance.diskOperations());
        } catch (RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    private static long consoleSize(Path runDir) {
        try {
            return Files.size(runDir.resolve("serial.log"));
        } catch (IOException e) {
            return 0;
        }
    }
}
