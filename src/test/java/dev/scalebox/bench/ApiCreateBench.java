package dev.scalebox.bench;

import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.VmService;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code POST /vms} over real HTTP against the API server, on a btrfs pool with the real
 * debian-base (2 GiB) and a 16 GiB template made from it: p50/p95 of serial creates, each VM
 * deleted before the next, then creates per second with 10 clients at once. The latency is the
 * client's, from sending the request to reading the 201. QEMU starts after each answer and is
 * killed by the delete, so the boot is not in these figures. Run by bench/vm-create.sh.
 */
public final class ApiCreateBench {

    private static BenchApi api;

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        TestVms env = new TestVms("api-bench", 28001);
        try {
            Path big = env.layout.root().resolve("big16.ext4");
            Sh.run("cp", "--reflink=always", env.layout.templateImage("debian-base").toString(), big.toString());
            Sh.run("truncate", "-s", "16G", big.toString());
            Sh.run("resize2fs", "-f", big.toString());
            env.templates.importImage(big, "big16");
            VmService vms = env.service();
            api = new BenchApi(env, vms);
            String key = env.publicKey;

            serial(key, "debian-base", 2, 5);  // warm-up: JIT, the template probes, the page cache
            serial(key, "big16", 16, 5);
            double[] small = serial(key, "debian-base", 2, runs);
            double[] big16 = serial(key, "big16", 16, runs);
            double[] grown = serial(key, "debian-base", 4, runs);
            double burst = parallel(key, 10, 1);
            double sustained = parallel(key, 10, 3);

            System.out.printf("%nPOST /vms over HTTP, %d serial creates each (ms; each VM deleted before the next)%n", runs);
            System.out.printf("%-28s %8s %8s %8s %8s%n", "template -> disk", "p50", "p95", "min", "max");
            row("debian-base 2 GiB -> 2 GiB", small);
            row("big16 16 GiB -> 16 GiB", big16);
            row("debian-base 2 GiB -> 4 GiB", grown);
            System.out.printf("16 GiB vs 2 GiB template, p50: %+.0f%%%n", (percentile(big16, 50) / percentile(small, 50) - 1) * 100);
            System.out.printf("%nCreates per second with 10 clients (debian-base, 2 GiB; every answered create starts a QEMU"
                    + " that boots on the same cores)%n");
            System.out.printf("%-36s %8.1f%n", "10 clients x 1 create (a burst)", burst);
            System.out.printf("%-36s %8.1f%n", "10 clients x 3 creates (sustained)", sustained);
        } finally {
            if (api != null) {
                api.close();
            }
            env.close();
        }
        System.exit(0);
    }

    private static double[] serial(String key, String template, int diskGib, int runs) throws Exception {
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            String id = create(key, template, diskGib);
            ms[i] = (System.nanoTime() - start) / 1e6;
            api.delete(id);
        }
        Arrays.sort(ms);
        return ms;
    }

    private static double parallel(String key, int clients, int each) throws Exception {
        List<Future<List<String>>> work = new ArrayList<>();
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            for (int c = 0; c < clients; c++) {
                work.add(pool.submit(() -> {
                    List<String> ids = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        ids.add(create(key, "debian-base", 2));
                    }
                    return ids;
                }));
            }
            List<String> ids = new ArrayList<>();
            for (Future<List<String>> f : work) {
                ids.addAll(f.get());
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            for (String id : ids) {
                api.delete(id);
            }
            return ids.size() / seconds;
        }
    }

    private static String create(String key, String template, int diskGib) throws Exception {
        return api.create("{\"template\":\"" + template + "\",\"ssh_public_key\":\"" + key + "\",\"mem_size_mib\":256,"
                + "\"vcpu_count\":1,\"disk_size_gib\":" + diskGib + "}");
    }

    private static void row(String label, double[] ms) {
        System.out.printf("%-28s %8.1f %8.1f %8.1f %8.1f%n", label, percentile(ms, 50), percentile(ms, 95), ms[0],
                ms[ms.length - 1]);
    }

    private static double percentile(double[] sorted, int p) {
        return sorted[Math.max(0, (int) Math.ceil(sorted.length * p / 100.0) - 1)];
    }
}
