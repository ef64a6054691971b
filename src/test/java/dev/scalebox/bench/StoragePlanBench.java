package dev.scalebox.bench;

import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.plan.Change;
import dev.scalebox.storage.plan.PlanFile;
import dev.scalebox.storage.plan.StorageHost;
import dev.scalebox.storage.plan.StoragePlanner;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code storage plan} and a no-change {@code storage apply} on a file with 2 pools (one raid1 on
 * two loop images), 20 datasets and 10 NFS exports: wall time in process, the host commands each
 * one runs, counted and timed by program, then the whole {@code scalebox storage plan} process.
 * The exports go to a file of the bench's own in /etc/exports.d, removed at the end. Run by
 * bench/storage-plan.sh.
 */
public final class StoragePlanBench {

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Path dir = LoopFs.tempDir();
        Path file = dir.resolve("storage.yaml");
        StringBuilder yaml = new StringBuilder("""
                pools:
                  - {name: fast, devices: [{image: %1$s/fast.img, size: 2G}], mount: %1$s/fast, options: [noatime]}
                  - name: safe
                    devices: [{image: %1$s/safe-a.img, size: 2G}, {image: %1$s/safe-b.img, size: 2G}]
                    profile: raid1
                    mount: %1$s/safe
                datasets:
                """.formatted(dir));
        String[] kinds = {"compression: zstd", "nodatacow: true", "compression: lzo, quota: 1G", "quota: 512M"};
        for (int i = 0; i < 20; i++) {
            yaml.append("  - {name: ds").append(i).append(", pool: ").append(i % 2 == 0 ? "fast" : "safe").append(", ")
                    .append(kinds[i % kinds.length]).append("}\n");
        }
        yaml.append("exports:\n");
        for (int i = 0; i < 10; i++) {
            yaml.append("  - {dataset: ").append(i % 2 == 0 ? "fast" : "safe").append("/ds").append(i)
                    .append(", clients: [10.0.").append(i).append(".0/24], options: [rw, sync, no_subtree_check]}\n");
        }
        Files.writeString(file, yaml.toString());
        StoragePlanner.Targets targets = new StoragePlanner.Targets(dir.resolve("data"),
                Path.of("/etc/exports.d/scalebox-bench-" + dir.getFileName() + ".exports"), dir.resolve("smb.conf"),
                dir.resolve("shares.conf"));
        try {
            PlanFile plan = PlanFile.read(file);
            StorageHost host = new StorageHost(new ProgramRunner());
            StoragePlanner planner = new StoragePlanner(host, targets);
            long start = System.nanoTime();
            int firstChanges = planner.apply(plan, Change.Mode.safe).changes().size();
            double first = (System.nanoTime() - start) / 1e6;

            java.util.Map<String, long[]> atStart = copy(host.programTimes());
            double[] planMs = new double[runs];
            double[] applyMs = new double[runs];
            int planCalls = 0;
            int applyCalls = 0;
            for (int i = 0; i < runs; i++) {
                int before = host.calls();
                start = System.nanoTime();
                if (!planner.plan(PlanFile.read(file)).changes().isEmpty()) {
                    throw new IllegalStateException("the second plan is not empty");
                }
                planMs[i] = (System.nanoTime() - start) / 1e6;
                planCalls = host.calls() - before;
                before = host.calls();
                start = System.nanoTime();
                planner.apply(PlanFile.read(file), Change.Mode.safe);
                applyMs[i] = (System.nanoTime() - start) / 1e6;
                applyCalls = host.calls() - before;
            }
            Arrays.sort(planMs);
            Arrays.sort(applyMs);
            java.util.Map<String, long[]> perProgram = copy(host.programTimes());

            double[] processMs = new double[Math.min(runs, 5)];
            List<String> argv = List.of("./scalebox", "storage", "plan", file.toString(), "--data-dir",
                    targets.dataDir().toString(), "--exports-file", targets.exportsFile().toString());
            new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start().waitFor();  // builds the jar and its archive
            for (int i = 0; i < processMs.length; i++) {
                start = System.nanoTime();
                Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
                if (p.waitFor() != 0) {
                    throw new IllegalStateException("scalebox storage plan exited " + p.exitValue());
                }
                processMs[i] = (System.nanoTime() - start) / 1e6;
            }
            Arrays.sort(processMs);

            System.out.printf("%nStorage file: 2 pools (single; raid1 on 2 loop images), 20 datasets, 10 exports; %d runs%n", runs);
            System.out.printf("%-44s %10s %10s %14s%n", "", "p50 ms", "max ms", "host commands");
            System.out.printf("%-44s %10.0f %10s %14s%n", "first apply (" + firstChanges + " changes)", first, "", "");
            System.out.printf("%-44s %10.1f %10.1f %14d%n", "plan, no changes (in process)", planMs[runs / 2], planMs[runs - 1], planCalls);
            System.out.printf("%-44s %10.1f %10.1f %14d%n", "apply, no changes (in process)", applyMs[runs / 2], applyMs[runs - 1], applyCalls);
            System.out.printf("%-44s %10.0f %10.0f %14s%n", "./scalebox storage plan (whole process)",
                    processMs[processMs.length / 2], processMs[processMs.length - 1], "");

            System.out.printf("%nHost commands of one no-change plan + apply, by program (mean of %d runs)%n", runs);
            System.out.printf("%-24s %8s %12s %12s%n", "program", "runs", "total ms", "ms per run");
            perProgram.forEach((program, t) -> {
                long[] before = atStart.getOrDefault(program, new long[2]);
                double count = (t[0] - before[0]) / (double) runs;
                double ms = (t[1] - before[1]) / 1e6 / runs;
                if (count > 0) {
                    System.out.printf("%-24s %8.0f %12.1f %12.2f%n", program, count, ms, ms / count);
                }
            });
        } finally {
            Files.deleteIfExists(targets.exportsFile());
            Sh.tryRun("exportfs", "-ra");
            LoopFs.unmountUnder(dir);
            for (String image : List.of("fast.img", "safe-a.img", "safe-b.img")) {
                for (String line : Sh.tryRun("losetup", "-j", dir.resolve(image).toString()).stdout().lines().toList()) {
                    Sh.tryRun("losetup", "-d", line.substring(0, line.indexOf(':')));
                }
            }
            LoopFs.deleteTree(dir);
        }
        System.exit(0);
    }

    private static java.util.Map<String, long[]> copy(java.util.Map<String, long[]> times) {
        java.util.Map<String, long[]> copy = new java.util.TreeMap<>();
        times.forEach((k, v) -> copy.put(k, v.clone()));
        return copy;
    }
}
