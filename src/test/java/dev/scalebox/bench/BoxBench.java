package dev.scalebox.bench;

import dev.scalebox.testing.TestGateway;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The gateway, measured with the real OpenSSH client, each figure the whole ssh process's wall
 * time to the end of its first command. Two gateways over their own data directories: one whose
 * pool keeps 5 ready boxes and 2 warm instances, one that keeps none, so that every new box is
 * copied from the golden state and made unique while its user waits. Measured: a new user's first
 * connection all three ways, a returning user whose box was suspended (with and without a warm
 * instance), the suspend itself, an active box through the gateway
 * against direct ssh to its forwarded port (connect time and 256 MB of output), and 20 new users
 * connecting at once. Run by bench/box-connect.sh.
 */
public final class BoxBench {

    private static final long BULK = 256L << 20;
    private static final int AT_ONCE = 20;

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int visits = 3;
        double[] fromWarm = new double[visits];
        double[] fromPool = new double[visits];
        double[] fromGolden = new double[visits];
        double[] suspend = new double[visits];
        double[] resume = new double[visits];
        double[] resumeCold = new double[visits];
        double[] viaGateway = new double[runs];
        double[] viaDirect = new double[runs];
        double bulkGateway;
        double bulkDirect;
        double[] burst;
        double burstLast;
        // The pool is checked at its start and after each new user only, so that the bench can
        // take the warm instances away for the second figure.
        try (TestGateway pooled = new TestGateway("box-bench", 18001, Duration.ofHours(1), 5, 2, Duration.ofHours(1))) {
            VmService vms = pooled.vms;
            Path key = null;
            for (int i = 0; i < 2 * visits; i++) {
                awaitFull(pooled);
                if (i >= visits) {
                    endWarmInstances(vms);
                }
                key = pooled.addUser("pooled-" + i);
                Path k = key;
                double took = seconds(() -> ssh(k, pooled.gateway.port(), "box@127.0.0.1", "true"));
                (i < visits ? fromWarm : fromPool)[i % visits] = took;
            }
            awaitFull(pooled);  // the refill after the last new user would take CPU from what follows
            Path user = key;
            Vm box = vms.get("box-" + pooled.users.list().getLast().id());
            for (int i = 0; i < 2 * visits; i++) {
                awaitFull(pooled);
                double took = seconds(() -> vms.suspend(box.id()));
                if (i < visits) {
                    suspend[i] = took;
                } else {
                    endWarmInstances(vms);
                }
                (i < visits ? resume : resumeCold)[i % visits] = seconds(() -> ssh(user, pooled.gateway.port(),
                        "box@127.0.0.1", "true"));
            }
            ssh(user, pooled.gateway.port(), "box@127.0.0.1", "echo '" + pooled.publicKey("pooled-" + (2 * visits - 1))
                    + "' >> /root/.ssh/authorized_keys");
            int direct = vms.get(box.id()).sshPort();
            for (int i = 0; i < runs; i++) {
                viaGateway[i] = seconds(() -> ssh(user, pooled.gateway.port(), "box@127.0.0.1", "true"));
                viaDirect[i] = seconds(() -> ssh(user, direct, "root@127.0.0.1", "true"));
            }
            String bulk = "head -c " + BULK + " /dev/zero";
            bulkGateway = seconds(() -> ssh(user, pooled.gateway.port(), "box@127.0.0.1", bulk));
            bulkDirect = seconds(() -> ssh(user, direct, "root@127.0.0.1", bulk));

            awaitFull(pooled);
            burst = new double[AT_ONCE];
            List<Path> keys = new ArrayList<>();
            for (int i = 0; i < AT_ONCE; i++) {
                keys.add(pooled.addUser("crowd-" + i));
            }
            long start = System.nanoTime();
            List<CompletableFuture<Double>> all = new ArrayList<>();
            for (Path k : keys) {
                all.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        ssh(k, pooled.gateway.port(), "box@127.0.0.1", "true");
                        return (System.nanoTime() - start) / 1e9;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, r -> Thread.ofVirtual().start(r)));
            }
            for (int i = 0; i < AT_ONCE; i++) {
                burst[i] = all.get(i).join();
            }
            burstLast = Arrays.stream(burst).max().orElseThrow();
        }
        try (TestGateway unpooled = new TestGateway("box-bench-golden", 18201, Duration.ofHours(1))) {
            Path warmup = unpooled.addUser("warmup");
            ssh(warmup, unpooled.gateway.port(), "box@127.0.0.1", "true");  // makes the golden state
            for (int i = 0; i < visits; i++) {
                Path k = unpooled.addUser("golden-" + i);
                fromGolden[i] = seconds(() -> ssh(k, unpooled.gateway.port(), "box@127.0.0.1", "true"));
            }
        }

        for (double[] a : List.of(fromWarm, fromPool, fromGolden, suspend, resume, resumeCold, viaGateway, viaDirect, burst)) {
            Arrays.sort(a);
        }
        System.out.printf("%nBoxes over the gateway (debian-base, 2 vCPUs, 512 MiB, TCG); ssh wall time to the first command%n");
        System.out.printf("%-62s %8s %8s%n", "", "p50 s", "max s");
        row("new user, ready box resumed in a warm instance", fromWarm);
        row("new user, ready box, no warm instance (QEMU started)", fromPool);
        row("new user, no ready box: copied from golden, made unique", fromGolden);
        row("suspend of an idle box (memory saved, QEMU ended)", suspend);
        row("returning user, suspended box resumed in a warm instance", resume);
        row("returning user, suspended box, no warm instance", resumeCold);
        System.out.printf("%nActive box, %d connections each (ssh ... true)%n", runs);
        System.out.printf("%-12s %8s %8s%n", "", "p50 s", "p95 s");
        System.out.printf("%-12s %8.3f %8.3f%n", "gateway", viaGateway[runs / 2], viaGateway[(int) Math.ceil(runs * .95) - 1]);
        System.out.printf("%-12s %8.3f %8.3f%n", "direct", viaDirect[runs / 2], viaDirect[(int) Math.ceil(runs * .95) - 1]);
        System.out.printf("extra connect time through the gateway (p50): %.0f ms%n",
                (viaGateway[runs / 2] - viaDirect[runs / 2]) * 1000);
        System.out.printf("%n256 MB of output: gateway %.1f MB/s, direct %.1f MB/s (gateway at %.0f%% of direct)%n",
                BULK / 1e6 / bulkGateway, BULK / 1e6 / bulkDirect, bulkDirect / bulkGateway * 100);
        System.out.printf("%n%d new users at once (5 ready boxes and 2 warm instances in the pool): all connected; first %.1f s, median %.1f s,"
                + " last %.1f s%n", AT_ONCE, burst[0], burst[AT_ONCE / 2], burstLast);
        System.exit(0);
    }

    private static void endWarmInstances(VmService vms) {
        while (vms.coolDown(2, 512)) {
            // each call ends one
        }
    }

    private static void row(String label, double[] sorted) {
        System.out.printf("%-62s %8.2f %8.2f%n", label, sorted[sorted.length / 2], sorted[sorted.length - 1]);
    }

    private static void awaitFull(TestGateway gateway) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        var pool = gateway.gateway.boxes().pool();
        while (pool.volumes().ready() < pool.volumes().target() || pool.instances().warm() < pool.instances().target()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the pool did not fill: " + pool);
            }
            Thread.sleep(500);
            pool = gateway.gateway.boxes().pool();
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    private static double seconds(Step step) throws Exception {
        long start = System.nanoTime();
        step.run();
        return (System.nanoTime() - start) / 1e9;
    }

    private static void ssh(Path key, int port, String target, String command) throws Exception {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(port)));
        argv.addAll(TestGateway.clientOptions(key));
        argv.addAll(List.of(target, command));
        Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("ssh " + target + " -p " + port + " " + command + " exited " + p.exitValue());
        }
    }
}
