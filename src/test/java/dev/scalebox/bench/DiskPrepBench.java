package dev.scalebox.bench;

import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestImages;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Disk preparation (clone + grow + SSH key) on a real btrfs pool, for templates of 1, 4 and 16 GiB
 * holding a quarter of their size in real data, side by side with the seed's path: cp
 * --reflink=auto, mount -o loop, write the key, umount. Run by bench/disk-prep.sh; prints a table.
 */
public final class DiskPrepBench {

    private static final long GIB = 1L << 30;
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench";

    public static void main(String[] args) throws IOException {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int[] sizes = {1, 4, 16};
        try (LoopFs pool = LoopFs.btrfs(40 * GIB)) {
            DataLayout layout = new DataLayout(pool.root());
            layout.createDirectories();
            ProgramRunner runner = new ProgramRunner();
            StorageService storage = new StorageService(layout, runner, new Filesystems(runner));
            Path mnt = Files.createDirectories(pool.root().resolve("run/seed-mnt"));
            List<String[]> rows = new ArrayList<>();
            for (int size : sizes) {
                String template = "t" + size;
                System.err.printf("making a %d GiB template with %d MiB of data...%n", size, size * 256);
                TestImages.ext4(layout.templateImage(template), size, size * 256);
                int target = size + 2;
                // warm-up: JIT, page cache and the reflink probe
                for (int i = 0; i < 3; i++) {
                    ours(storage, layout, template, "warm" + i, target);
                    seed(layout, template, "seedwarm" + i, target, mnt);
                }
                double[][] ourTimes = new double[4][iterations];
                double[] seedTimes = new double[iterations];
                for (int i = 0; i < iterations; i++) {
                    double[] phases = ours(storage, layout, template, "vm-" + i, target);
                    for (int p = 0; p < 4; p++) {
                        ourTimes[p][i] = phases[p];
                    }
                    seedTimes[i] = seed(layout, template, "seed-" + i, target, mnt);
                }
                rows.add(row(size, "scalebox: clone + grow + key (total)", ourTimes[3]));
                rows.add(row(size, "  of which reflink clone", ourTimes[0]));
                rows.add(row(size, "  of which resize2fs to +2 GiB", ourTimes[1]));
                rows.add(row(size, "  of which key by debugfs", ourTimes[2]));
                rows.add(row(size, "seed: cp --reflink=auto + grow + mount -o loop", seedTimes));
                Files.delete(layout.templateImage(template));
            }
            System.out.printf("%nDisk preparation on a btrfs pool, %d runs each (ms)%n", iterations);
            System.out.printf("%-9s %-48s %8s %8s %8s %8s%n", "template", "path", "p50", "p95", "mean", "max");
            for (String[] r : rows) {
                System.out.printf("%-9s %-48s %8s %8s %8s %8s%n", (Object[]) r);
            }
        }
    }

    /** Milliseconds of the clone, the grow, the key, and all three. */
    private static double[] ours(StorageService storage, DataLayout layout, String template, String vm, int sizeGib) {
        long start = System.nanoTime();
        Path disk = storage.copyRootfs(template, vm);
        long cloned = System.nanoTime();
        storage.resizeRootfs(disk, sizeGib);
        long grown = System.nanoTime();
        storage.injectSshKey(disk, KEY);
        long done = System.nanoTime();
        storage.deleteRootfs(disk);
        return new double[] {(cloned - start) / 1e6, (grown - cloned) / 1e6, (done - grown) / 1e6, (done - start) / 1e6};
    }

    /** The original's path, step for step, with the same resize so only clone and key writing differ. */
    private static double seed(DataLayout layout, String template, String vm, int sizeGib, Path mnt) throws IOException {
        Path disk = layout.vmImage(vm);
        long start = System.nanoTime();
        Sh.run("cp", "--reflink=auto", layout.templateImage(template).toString(), disk.toString());
        Sh.run("truncate", "-s", sizeGib + "G", disk.toString());
        Sh.run("resize2fs", disk.toString());
        Sh.run("mount", "-o", "loop", disk.toString(), mnt.toString());
        try {
            Path ssh = Files.createDirectories(mnt.resolve("root/.ssh"));
            Files.setPosixFilePermissions(ssh, PosixFilePermissions.fromString("rwx------"));
            Path keys = ssh.resolve("authorized_keys");
            Files.writeString(keys, KEY + "\n");
            Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-------"));
        } finally {
            Sh.run("umount", mnt.toString());
        }
        double ms = (System.nanoTime() - start) / 1e6;
        Files.delete(disk);
        return ms;
    }

    private static String[] row(int size, String path, double[] times) {
        double[] t = times.clone();
        Arrays.sort(t);
        return new String[] {size + " GiB", path, fmt(t[t.length / 2]), fmt(t[(int) Math.ceil(t.length * 0.95) - 1]),
                fmt(Arrays.stream(t).average().orElse(0)), fmt(t[t.length - 1])};
    }

    private static String fmt(double ms) {
        return String.format("%.1f", ms);
    }
}
