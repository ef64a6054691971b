package dev.scalebox.bench;

import dev.scalebox.testing.TestGateway;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The gateway, measured with the real OpenSSH client: a new user's first connection (their box
 * boots), a returning user whose box was suspended, the suspend itself, and for an active box the
 * gateway against direct ssh to the box's forwarded port: connect time (ssh running `true`) and
 * the throughput of 256 MB of output. Each figure is the whole ssh process's wall time. Run by
 * bench/box-connect.sh.
 */
public final class BoxBench {

    private static final long BULK = 256L << 20;

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        try (TestGateway boxes = new TestGateway("box-bench", 18001, Duration.ofHours(1))) {
            VmService vms = boxes.vms;
            Path key = boxes.addUser("bench");
            String publicKey = boxes.publicKey("bench");
            int gatewayPort = boxes.gateway.port();

            double firstVisit = seconds(() -> ssh(key, gatewayPort, "box@127.0.0.1", "true"));
            Vm box = vms.list().getFirst();
            ssh(key, gatewayPort, "box@127.0.0.1", "echo '" + publicKey + "' >> /root/.ssh/authorized_keys");
            int direct = box.sshPort();

            double[] viaGateway = new double[runs];
            double[] viaDirect = new double[runs];
            for (int i = 0; i < runs; i++) {
                viaGateway[i] = seconds(() -> ssh(key, gatewayPort, "box@127.0.0.1", "true"));
                viaDirect[i] = seconds(() -> ssh(key, direct, "root@127.0.0.1", "true"));
            }
            String bulk = "head -c " + BULK + " /dev/zero";
            double bulkGateway = seconds(() -> ssh(key, gatewayPort, "box@127.0.0.1", bulk));
            double bulkDirect = seconds(() -> ssh(key, direct, "root@127.0.0.1", bulk));

            double suspend = seconds(() -> vms.suspend(box.id()));
            double resume = seconds(() -> ssh(key, gatewayPort, "box@127.0.0.1", "true"));

            Arrays.sort(viaGateway);
            Arrays.sort(viaDirect);
            System.out.printf("%nBox over the gateway (debian-base, TCG); ssh process wall time%n");
            System.out.printf("%-52s %10s%n", "", "seconds");
            System.out.printf("%-52s %10.2f%n", "new user, first connection (box created and booted)", firstVisit);
            System.out.printf("%-52s %10.2f%n", "suspend of the idle box (memory saved, QEMU ended)", suspend);
            System.out.printf("%-52s %10.2f%n", "returning user, suspended box, connect to command", resume);
            System.out.printf("%nActive box, %d connections each (ssh ... true), p50 / p95 seconds%n", runs);
            System.out.printf("%-12s %8.3f %8.3f%n", "gateway", viaGateway[runs / 2], viaGateway[(int) Math.ceil(runs * .95) - 1]);
            System.out.printf("%-12s %8.3f %8.3f%n", "direct", viaDirect[runs / 2], viaDirect[(int) Math.ceil(runs * .95) - 1]);
            System.out.printf("extra connect time through the gateway (p50): %.0f ms%n",
                    (viaGateway[runs / 2] - viaDirect[runs / 2]) * 1000);
            System.out.printf("%n256 MB of output: gateway %.1f MB/s, direct %.1f MB/s (gateway at %.0f%% of direct)%n",
                    BULK / 1e6 / bulkGateway, BULK / 1e6 / bulkDirect, bulkDirect / bulkGateway * 100);
        }
        System.exit(0);
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
