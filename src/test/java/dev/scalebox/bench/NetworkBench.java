package dev.scalebox.bench;

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

/**
 * The bridge against QEMU's user-mode network, side by side in one run, each with one guest of 2
 * vCPUs booted alone: 256 MB over SSH host to guest and guest to host (the path a user's copy
 * takes; SSH's cipher costs the same on both), and the time from a TCP connect to the guest's SSH
 * port until its banner arrives, the median of 20. Run by bench/network.sh.
 */
public final class NetworkBench {

    record Row(String network, double toGuestMBs, double fromGuestMBs, double bannerMs) {
    }

    public static void main(String[] args) throws Exception {
        TestVms env = new TestVms("network-bench", 31001);
        List<Row> rows = new ArrayList<>();
        try {
            rows.add(measure(env, "bridge", env.service()));
            rows.add(measure(env, "user", env.userModeService()));
        } finally {
            env.close();
        }
        System.out.printf("%n256 MB over SSH (aes128-gcm) and SSH connection setup, one guest of 2 vCPUs at a time; %s%n",
                dev.scalebox.hypervisor.Accelerator.choose("auto").label());
        System.out.printf("%-8s %18s %20s %24s%n", "network", "host->guest MB/s", "guest->host MB/s", "connect->banner p50 ms");
        for (Row r : rows) {
            System.out.printf("%-8s %18.1f %20.1f %24.1f%n", r.network(), r.toGuestMBs(), r.fromGuestMBs(), r.bannerMs());
        }
    }

    private static Row measure(TestVms env, String network, VmService vms) throws Exception {
        Vm vm = vms.create(new CreateVm("debian-base", env.publicKey, "bench-" + network, 2, 1024, null, null));
        vm = Waits.status(vms, vm.id(), VmStatus.RUNNING, Waits.START);
        env.ssh(vm, "true");
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
        vms.delete(vm.id());
        banners.sort(null);
        return new Row(network, 256 / to, 256 / from, banners.get(banners.size() / 2));
    }

    private static double seconds(Runnable work) {
        long start = System.nanoTime();
        work.run();
        return (System.nanoTime() - start) / 1e9;
    }
}
