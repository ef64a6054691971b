package dev.scalebox.bench;

import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;

import java.util.Arrays;

/**
 * Create latency as the VM service answers it (validation, space check, clone, grow, key, record;
 * QEMU starts after the answer), over 20 serial creates of a 4 GiB VM from the real debian-base on
 * a btrfs pool, each deleted before the next. Run by bench/vm-create.sh; prints a table.
 */
public final class VmCreateBench {

    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        TestVms env = new TestVms("bench", 26001);
        try {
            VmService vms = env.service();
            for (int i = 0; i < 3; i++) {
                vms.delete(vms.create(new CreateVm("debian-base", env.publicKey, null, 1, 256, 4)).id());
            }
            double[] ms = new double[runs];
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                Vm vm = vms.create(new CreateVm("debian-base", env.publicKey, null, 1, 256, 4));
                ms[i] = (System.nanoTime() - start) / 1e6;
                vms.delete(vm.id());
            }
            Arrays.sort(ms);
            System.out.printf("%nPOST /vms work in process, %d serial creates of a 4 GiB VM from debian-base (ms)%n", runs);
            System.out.printf("%8s %8s %8s %8s%n", "p50", "p95", "min", "max");
            System.out.printf("%8.1f %8.1f %8.1f %8.1f%n", ms[runs / 2], ms[(int) Math.ceil(runs * 0.95) - 1], ms[0],
                    ms[runs - 1]);
        } finally {
            env.close();
        }
        System.exit(0);
    }
}
