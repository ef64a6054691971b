package dev.scalebox.bench;

import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.Personalization;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * From {@code POST /vms} over HTTP to the first command's output over SSH, for VMs resumed from
 * the template's memory snapshot (alone, and with a warm guest waiting), and booted from the
 * disk; one VM at a time, each deleted before the next. The client waits for {@code running}, as {@code scalebox
 * vm create --wait} does (a connection tried before the guest has its address waits a second for
 * TCP to send its SYN again), then runs the real OpenSSH client. Also the host memory an idle VM
 * costs beyond what its guest uses, a login into an idle VM, and the set-up of a resumed guest
 * (hostname and clock) through the guest agent against a login over SSH. Run by
 * bench/vm-create.sh after the POST /vms latency.
 */
public final class CreateToSshBench {

    /** Seconds from POST /vms to the first command's output and to {@code running}, each sorted. */
    private record Series(String label, double[] seconds, double[] running, long overheadMib) {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        List<Series> series = new ArrayList<>();
        double[][] setup;
        try (TestVms snap = new TestVms("bench-snap", 28201).withTemplateSnapshots(1)) {
            VmService vms = snap.service();
            vms.recover();
            Waits.until("the template's snapshot", Duration.ofMinutes(20), () -> vms.templateSnapshots("debian-base")
                    .stream().anyMatch(s -> s.state().equals("ready")));
            try (Api api = new Api(snap, vms)) {
                series.add(api.serial("snapshot", runs, () -> { }));
                setup = api.setUp(runs);
            }
            vms.detach();
            VmService warm = snap.withWarmGuests(1).service();
            warm.recover();
            try (Api api = new Api(snap, warm)) {
                series.add(api.serial("snapshot, warm guest", runs, () -> Waits.until("a warm guest", Duration.ofMinutes(5),
                        () -> warm.warmGuests("debian-base", 2, 512) > 0)));
            }
            warm.detach();
        }
        try (TestVms boot = new TestVms("bench-boot", 28301); Api api = new Api(boot, boot.service())) {
            series.add(api.serial("boot", runs, () -> { }));
        }

        System.out.printf("%nPOST /vms to the first command's output over SSH, %d serial creates each (2 vCPUs, 512 MiB;"
                + " %s)%n", runs, System.getenv().getOrDefault("BENCH_NOTE", "TCG"));
        System.out.printf("%-26s %8s %8s %8s %8s %14s %14s%n", "start", "p50 s", "p95 s", "min s", "max s",
                "running p50 s", "idle MiB/VM");
        for (Series s : series) {
            System.out.printf("%-26s %8.2f %8.2f %8.2f %8.2f %14.2f %14d%n", s.label(), percentile(s.seconds(), 50),
                    percentile(s.seconds(), 95), s.seconds()[0], s.seconds()[s.seconds().length - 1],
                    percentile(s.running(), 50), s.overheadMib());
        }
        System.out.printf("boot p50 / snapshot p50: %.1fx%n", percentile(series.get(2).seconds(), 50)
                / percentile(series.get(0).seconds(), 50));
        System.out.println("running: POST /vms until the API says running (the SSH banner answered); the client then logs in");
        System.out.println("warm guest: one resumed from the snapshot waits idle when the create comes (WARM_GUESTS=1);"
                + " the create makes it its own, and another is made in the background");
        System.out.println("idle MiB/VM: QEMU's resident memory less the memory its guest uses (MemTotal - MemAvailable),"
                + " 10 s after the last VM of the series answered");
        System.out.printf("an SSH login running one command in an idle VM, the floor of the above: p50 %.2f s, p95 %.2f s%n",
                percentile(setup[2], 50), percentile(setup[2], 95));
        System.out.printf("%nSetting up a resumed guest (hostname and clock), %d times each%n", runs);
        System.out.printf("%-26s %8s %8s%n", "path", "p50 s", "p95 s");
        System.out.printf("%-26s %8.2f %8.2f%n", "guest agent", percentile(setup[0], 50), percentile(setup[0], 95));
        System.out.printf("%-26s %8.2f %8.2f%n", "SSH login + script", percentile(setup[1], 50), percentile(setup[1], 95));
        System.exit(0);
    }

    /** One environment's API server, and what is measured through it. */
    private static final class Api implements AutoCloseable {
        private final TestVms env;
        private final VmService vms;
        private final BenchApi api;

        Api(TestVms env, VmService vms) {
            this.env = env;
            this.vms = vms;
            this.api = new BenchApi(env, vms);
        }

        Series serial(String label, int runs, Runnable before) throws Exception {
            double[] seconds = new double[runs];
            double[] running = new double[runs];
            long overhead = 0;
            for (int i = 0; i < runs; i++) {
                before.run();
                long start = System.nanoTime();
                String id = create();
                awaitRunning(id);
                running[i] = (System.nanoTime() - start) / 1e9;
                Vm vm = awaitSsh(id);
                seconds[i] = (System.nanoTime() - start) / 1e9;
                if (i == runs - 1) {
                    Thread.sleep(10_000);
                    overhead = overheadMib(vm);
                }
                api.delete(id);
            }
            Arrays.sort(seconds);
            Arrays.sort(running);
            return new Series(label, seconds, running, overhead);
        }

        /**
         * Seconds of the hostname-and-clock set-up through the agent [0] and over SSH [1], and of
         * a login running one command [2], on one idle VM.
         */
        double[][] setUp(int runs) throws Exception {
            String id = create();
            awaitRunning(id);
            Vm vm = awaitSsh(id);
            Thread.sleep(5000);
            double[][] seconds = new double[3][runs];
            for (int i = 0; i < runs; i++) {
                long login = System.nanoTime();
                awaitSsh(id);
                seconds[2][i] = (System.nanoTime() - login) / 1e9;
                long start = System.nanoTime();
                vms.personalize(vm.id(), Personalization.hostname(vm.name()));
                seconds[0][i] = (System.nanoTime() - start) / 1e9;
                start = System.nanoTime();
                ssh(vm, Personalization.hostname(vm.name()).input(false));
                seconds[1][i] = (System.nanoTime() - start) / 1e9;
            }
            Arrays.stream(seconds).forEach(Arrays::sort);
            api.delete(vm.id());
            return seconds;
        }

        /** As {@code scalebox vm create --wait} does: the status, until the VM runs. */
        private void awaitRunning(String id) throws Exception {
            while (true) {
                Vm vm = vms.get(id);
                if (vm.status() == VmStatus.RUNNING) {
                    return;
                }
                if (vm.status() == VmStatus.ERROR) {
                    throw new IllegalStateException(id + " failed: " + vm.statusReason());
                }
                Thread.sleep(20);
            }
        }

        private Vm awaitSsh(String id) throws Exception {
            while (true) {
                Vm vm = vms.get(id);
                if (vm.status() == VmStatus.ERROR) {
                    throw new IllegalStateException(id + " failed: " + vm.statusReason());
                }
                Process p = new ProcessBuilder("ssh", "-i", env.privateKey.toString(), "-p", Integer.toString(vm.sshPort()),
                        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                        "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "root@" + vm.sshHost(), "echo ok")
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (p.waitFor() == 0 && out.strip().equals("ok")) {
                    return vm;
                }
                Thread.sleep(100);
            }
        }

        private void ssh(Vm vm, byte[] input) throws Exception {
            Process p = new ProcessBuilder("ssh", "-i", env.privateKey.toString(), "-p", Integer.toString(vm.sshPort()),
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                    "-o", "BatchMode=yes", "root@" + vm.sshHost(), Personalization.shellCommand()).start();
            p.getOutputStream().write(input);
            p.getOutputStream().close();
            p.getInputStream().readAllBytes();
            if (p.waitFor() != 0) {
                throw new IllegalStateException("the set-up over SSH failed");
            }
        }

        private long overheadMib(Vm vm) throws Exception {
            long rssKib = Long.parseLong(Files.readAllLines(Path.of("/proc/" + env.qemuPid(vm.id()) + "/status")).stream()
                    .filter(l -> l.startsWith("VmRSS:")).findFirst().orElseThrow().replaceAll("\\D", ""));
            String[] mem = env.ssh(vm, "awk '/MemTotal|MemAvailable/ {print $2}' /proc/meminfo").strip().split("\\s+");
            long usedKib = Long.parseLong(mem[0]) - Long.parseLong(mem[1]);
            return (rssKib - usedKib) / 1024;
        }

        private String create() throws Exception {
            return api.create("{\"template\":\"debian-base\",\"ssh_public_key\":\"" + env.publicKey
                    + "\",\"mem_size_mib\":512,\"vcpu_count\":2}");
        }

        @Override
        public void close() {
            api.close();
        }
    }

    private static double percentile(double[] sorted, int p) {
        return sorted[Math.max(0, (int) Math.ceil(sorted.length * p / 100.0) - 1)];
    }
}
