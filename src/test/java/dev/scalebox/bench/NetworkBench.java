package dev.scalebox.bench;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.network.HttpsConfig;
import dev.scalebox.testing.Ports;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.nio.file.Path;

/**
 * The bridge against QEMU's user-mode network, side by side in one run, each with one guest of 2
 * vCPUs booted alone: 256 MB over SSH host to guest and guest to host (the path a user's copy
 * takes; SSH's cipher costs the same on both), and the time from a TCP connect to the guest's SSH
 * port until its banner arrives, the median of 20. Then, on the bridge, a small page of the guest
 * through Caddy against straight to its address (requests per second, 8 at a time), and the time
 * from a request to a suspended VM's HTTPS address to its answer. Run by bench/network.sh.
 */
public final class NetworkBench {

    private static final String DOMAIN = "bench.scalebox.test";
    private static final int REQUESTS = 400;

    record Row(String network, double toGuestMBs, double fromGuestMBs, double bannerMs) {
    }

    record Web(double caddyRps, double directRps, List<Double> wakeSeconds) {
    }

    public static void main(String[] args) throws Exception {
        int apiPort = Ports.free();
        int httpsPort = Ports.free();
        TestVms env = new TestVms("network-bench", 31001, layout -> new HttpsConfig(DOMAIN, "127.0.0.1", httpsPort, null,
                layout.root().resolve("caddy"), "127.0.0.1:" + apiPort));
        List<Row> rows = new ArrayList<>();
        Web web;
        VmService bridged = env.service();
        try (ApiServer api = ApiServer.start("127.0.0.1", apiPort, ApiToken.resolve(Optional.of("network-bench-token-0123"),
                Path.of("/nonexistent")), new ApiServer.Services(env.templates, bridged, env.storage, "bench", null, null))) {
            Vm vm = boot(env, bridged, "web");
            rows.add(measure(env, "bridge", bridged, vm));
            web = web(env, bridged, vm, httpsPort);
            bridged.delete(vm.id());
            VmService user = env.userModeService();
            Vm other = boot(env, user, "bench-user");
            rows.add(measure(env, "user", user, other));
            user.delete(other.id());
        } finally {
            env.close();
        }
        System.out.printf("%n256 MB over SSH (aes128-gcm) and SSH connection setup, one guest of 2 vCPUs at a time; %s%n",
                dev.scalebox.hypervisor.Accelerator.choose("auto").label());
        System.out.printf("%-8s %18s %20s %24s%n", "network", "host->guest MB/s", "guest->host MB/s", "connect->banner p50 ms");
        for (Row r : rows) {
            System.out.printf("%-8s %18.1f %20.1f %24.1f%n", r.network(), r.toGuestMBs(), r.fromGuestMBs(), r.bannerMs());
        }
        System.out.printf("%n%d requests for a small page of the guest, 8 at a time (curl --parallel)%n", REQUESTS);
        System.out.printf("%-34s %12s%n", "path", "requests/s");
        System.out.printf("%-34s %12.0f%n", "HTTPS through Caddy", web.caddyRps());
        System.out.printf("%-34s %12.0f%n", "HTTP straight to the VM's address", web.directRps());
        System.out.printf("%nA request to a suspended VM's HTTPS address until its answer (curl --retry, Retry-After 1)%n");
        System.out.printf("%-8s %10s%n", "round", "seconds");
        for (int i = 0; i < web.wakeSeconds().size(); i++) {
            System.out.printf("%-8d %10.2f%n", i + 1, web.wakeSeconds().get(i));
        }
    }

    private static Vm boot(TestVms env, VmService vms, String name) {
        Vm vm = vms.create(new CreateVm("debian-base", env.publicKey, name, 2, 1024, null, null));
        vm = Waits.status(vms, vm.id(), VmStatus.RUNNING, Waits.START);
        env.ssh(vm, "true");
        return vm;
    }

    private static Web web(TestVms env, VmService vms, Vm vm, int httpsPort) {
        env.serveHttp(vm);
        String host = vm.name() + "." + DOMAIN;
        List<String> caddy = List.of("--resolve", host + ":" + httpsPort + ":127.0.0.1", "--cacert",
                env.network.https().orElseThrow().rootCertificate().toString());
        double caddyRps = REQUESTS / seconds(() -> curlMany(caddy, "https://" + host + ":" + httpsPort + "/"));
        double directRps = REQUESTS / seconds(() -> curlMany(List.of(), "http://" + vm.ip() + "/"));
        List<Double> wake = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            vms.suspend(vm.id());
            wake.add(seconds(() -> Sh.run(concat(List.of("curl", "-sS", "-o", "/dev/null", "--fail", "--retry", "60",
                    "--retry-max-time", "600"), caddy, List.of("https://" + host + ":" + httpsPort + "/")).toArray(String[]::new))));
            Waits.status(vms, vm.id(), VmStatus.RUNNING, Waits.STEP);
        }
        return new Web(caddyRps, directRps, wake);
    }

    private static void curlMany(List<String> options, String url) {
        List<String> argv = concat(List.of("curl", "-sS", "--fail", "--parallel", "--parallel-max", "8"), options, List.of());
        for (int i = 0; i < REQUESTS; i++) {
            argv.addAll(List.of("-o", "/dev/null", url));
        }
        Sh.run(argv.toArray(String[]::new));
    }

    private static List<String> concat(List<String> a, List<String> b, List<String> c) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        all.addAll(c);
        return all;
    }


    private static Row measure(TestVms env, String network, VmService vms, Vm vm) throws Exception {
        String ssh = "ssh -c aes128-gcm@openssh.com -i " + env.privateKey + " -p " + vm.sshPort()
                + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes root@"
                + vm.sshHost();
        double to = seconds(() -> Sh.run("sh", "-c", "head -c 256000000 /dev/zero | " + ssh + " 'cat > /dev/null'"));
        double from = seconds(() -> Sh.run("sh", "-c", ssh + " 'head -c 256000000 /dev/zero' > /dev/null"));
        List<Double> banners = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            long start = System.nanoTime();
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(vm.sshHost(), vm.sshPort()), 30_000);
                socket.setSoTimeout(30_000);
                InputStream in = socket.getInputStream();
                while (in.read() != '\n') {
                    // the banner's line
                }
            }
            banners.add((System.nanoTime() - start) / 1e6);
        }
        banners.sort(null);
        return new Row(network, 256 / to, 256 / from, banners.get(banners.size() / 2));
    }

    private static double seconds(Runnable work) {
        long start = System.nanoTime();
        work.run();
        return (System.nanoTime() - start) / 1e9;
    }
}
