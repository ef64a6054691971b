package dev.scalebox.bench;

import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Boot-to-SSH of debian-base under this host's accelerator, and the host memory each idle VM
 * costs beyond what its guest uses. VMs (2 vCPUs, 2048 MiB, the defaults) are booted one at a
 * time; once all are up and have idled for 30 s, each QEMU's resident memory is read from /proc
 * and the guest's memory in use over SSH: its RAM minus MemFree, so page cache and what the
 * guest kernel reserves for itself (its image, the page tables of its memory map) count as in
 * use, since those pages are resident too. Under TCG the overhead includes the translation
 * cache (tb-size, 64 MiB at most), which KVM does not have. Run by bench/vm-boot.sh.
 */
public final class BootBench {

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        TestVms env = new TestVms("boot-bench", 29001);
        try {
            VmService vms = env.service();
            Map<String, Double> bootSeconds = new ConcurrentHashMap<>();
            vms.onBoot(bootSeconds::put);
            List<Vm> booted = new ArrayList<>();
            List<Double> createToRunning = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                Vm vm = vms.create(new CreateVm("debian-base", env.publicKey, null, 2, 2048, null));
                booted.add(TestVms.awaitStatus(vms, vm.id(), VmStatus.RUNNING, Duration.ofMinutes(3)));
                createToRunning.add((System.nanoTime() - start) / 1e9);
            }
            Thread.sleep(30_000);

            System.out.printf("%ndebian-base, 2 vCPUs, 2048 MiB, booted one at a time%n");
            System.out.printf("%-4s %14s %16s %10s %14s %14s%n", "run", "QEMU->SSH s", "create->run s", "RSS MiB",
                    "guest use MiB", "overhead MiB");
            List<Double> boots = new ArrayList<>();
            List<Long> overheads = new ArrayList<>();
            for (int i = 0; i < booted.size(); i++) {
                Vm vm = booted.get(i);
                long rss = rssMib(env.qemuPid(vm.id()));
                long memFreeMib = Long.parseLong(env.ssh(vm, "awk '/^MemFree/ {print $2}' /proc/meminfo").strip()) / 1024;
                long guestUsed = vm.memSizeMib() - memFreeMib;
                double boot = bootSeconds.get(vm.id());
                boots.add(boot);
                overheads.add(rss - guestUsed);
                System.out.printf("%-4d %14.2f %16.2f %10d %14d %14d%n", i + 1, boot, createToRunning.get(i), rss, guestUsed,
                        rss - guestUsed);
            }
            boots.sort(null);
            overheads.sort(null);
            System.out.printf("median: QEMU->SSH %.2f s, overhead %d MiB per idle VM%n", boots.get(boots.size() / 2),
                    overheads.get(overheads.size() / 2));
            for (Vm vm : booted) {
                vms.delete(vm.id());
            }
        } finally {
            env.close();
        }
        System.exit(0);
    }

    private static long rssMib(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .filter(l -> l.startsWith("VmRSS:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D+", "")) / 1024)
                .findFirst().orElseThrow();
    }
}
