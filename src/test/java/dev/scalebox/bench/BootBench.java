package dev.scalebox.bench;

import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Boot-to-SSH of debian-base under this host's accelerator, and the host memory each idle VM
 * costs beyond what its guest uses, for each TCG translation cache size asked for
 * (TCG_CACHE_MIB), side by side. For each size, VMs (2 vCPUs, 2048 MiB, the defaults) are booted
 * one at a time; once all are up and have idled for 30 s, each QEMU's resident memory is read
 * from /proc and the guest's memory in use over SSH: its RAM minus MemFree, so page cache and
 * what the guest kernel reserves for itself (its image, the page tables of its memory map) count
 * as in use, since those pages are resident too. Under TCG the overhead includes the translation
 * cache, which a booted VM fills and KVM does not have. Run by bench/vm-boot.sh.
 */
public final class BootBench {

    record Row(int cacheMib, int run, double boot, double createToRunning, long rss, long guestUsed) {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        List<Integer> cacheSizes = args.length > 1
                ? List.of(args[1].split(",")).stream().map(Integer::parseInt).toList() : List.of(64);
        TestVms env = new TestVms("boot-bench", 29001);
        List<Row> rows = new ArrayList<>();
        try {
            for (int cacheMib : cacheSizes) {
                rows.addAll(measure(env, env.service(cacheMib), cacheMib, runs));
            }
        } finally {
            env.close();
        }
        System.out.printf("%ndebian-base, 2 vCPUs, 2048 MiB, booted one at a time; %s%n",
                dev.scalebox.hypervisor.Accelerator.choose("auto").label());
        System.out.printf("%-10s %-4s %12s %14s %9s %14s %13s%n", "cache MiB", "run", "QEMU->SSH s", "create->run s",
                "RSS MiB", "guest use MiB", "overhead MiB");
        for (Row r : rows) {
            System.out.printf("%-10d %-4d %12.2f %14.2f %9d %14d %13d%n", r.cacheMib(), r.run(), r.boot(),
                    r.createToRunning(), r.rss(), r.guestUsed(), r.rss() - r.guestUsed());
        }
        System.out.printf("%n%-10s %16s %24s%n", "cache MiB", "median boot s", "median overhead MiB/VM");
        for (int cacheMib : cacheSizes) {
            List<Double> boots = rows.stream().filter(r -> r.cacheMib() == cacheMib).map(Row::boot).sorted().toList();
            List<Long> overheads = rows.stream().filter(r -> r.cacheMib() == cacheMib).map(r -> r.rss() - r.guestUsed())
                    .sorted().toList();
            System.out.printf("%-10d %16.2f %24d%n", cacheMib, boots.get(boots.size() / 2), overheads.get(overheads.size() / 2));
        }
        System.exit(0);
    }

    private static List<Row> measure(TestVms env, VmService vms, int cacheMib, int runs) throws Exception {
        Map<String, Double> bootSeconds = new ConcurrentHashMap<>();
        vms.onEvents(new VmService.Events() {
            @Override
            public void booted(String vmId, Map<String, Double> phases) {
                bootSeconds.put(vmId, phases.get("boot"));
            }
        });
        List<Vm> booted = new ArrayList<>();
        List<Double> createToRunning = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            Vm vm = vms.create(new CreateVm("debian-base", env.publicKey, null, 2, 2048, null, null));
            booted.add(Waits.status(vms, vm.id(), VmStatus.RUNNING, Waits.START));
            createToRunning.add((System.nanoTime() - start) / 1e9);
        }
        Thread.sleep(30_000);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < booted.size(); i++) {
            Vm vm = booted.get(i);
            long rss = rssMib(env.qemuPid(vm.id()));
            long memFreeMib = Long.parseLong(env.ssh(vm, "awk '/^MemFree/ {print $2}' /proc/meminfo").strip()) / 1024;
            rows.add(new Row(cacheMib, i + 1, bootSeconds.get(vm.id()), createToRunning.get(i), rss,
                    vm.memSizeMib() - memFreeMib));
        }
        for (Vm vm : booted) {
            vms.delete(vm.id());
        }
        return rows;
    }

    private static long rssMib(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .filter(l -> l.startsWith("VmRSS:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D+", "")) / 1024)
                .findFirst().orElseThrow();
    }
}
