package dev.scalebox.testing;

import dev.scalebox.store.VmStore;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmStatus;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One golden state for the test gateways of a run: making one is a whole boot, and every gateway
 * of the tests makes the same one (debian-base, 2 vCPUs, 512 MiB). It is made once, in a data
 * directory of its own, by a real gateway on a real user's first connection; each gateway then
 * gets a copy (its disk and memory by reflink, its record, the gateway's internal key it was made
 * for) before it starts, and finds its golden state current. The gateway tests of the golden
 * state's making itself run a service of their own (ServeRestartTest).
 */
final class GoldenSeed {

    private static final String NAME = "golden-debian-base";
    private static TestGateway maker;
    private static VmStore.Row golden;

    private GoldenSeed() {
    }

    /** Gives {@code env}, whose gateway keys live in {@code keyDir}, a copy of the golden state. */
    static synchronized void plant(TestVms env, Path keyDir) {
        if (golden == null) {
            make();
        }
        try {
            Files.createDirectories(keyDir);
            Files.copy(maker.env.layout.root().resolve("gateway/box_key"), keyDir.resolve("box_key"),
                    StandardCopyOption.REPLACE_EXISTING);
            Sh.run("cp", "--reflink=always", maker.env.layout.volumeImage(golden.id()).toString(),
                    env.layout.volumeImage(golden.id()).toString());
            Sh.run("cp", "--reflink=always", maker.env.layout.memoryState(golden.id(), true).toString(),
                    env.layout.memoryState(golden.id(), true).toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Made now, after this directory's template: it is not taken for one that predates a rebuild.
        int port = env.portMin() + 99;
        if (!env.store().insert(new VmStore.Row(golden.id(), NAME, golden.template(), VmStatus.SUSPENDED.label(), null,
                golden.vcpuCount(), golden.memSizeMib(), golden.diskSizeGib(), port, Instant.now(), true, null, "internet", 80))) {
            throw new AssertionError("the golden state's copy has no record in " + env.layout.root());
        }
    }

    private static void make() {
        maker = new TestGateway("golden-seed", 16001, Duration.ofHours(1), false);
        Path key = maker.addUser("seed");
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(maker.gateway.port())));
        argv.addAll(TestGateway.clientOptions(key));
        argv.addAll(List.of("box@127.0.0.1", "true"));
        Sh.run(argv.toArray(String[]::new));
        golden = maker.env.store().find(NAME).orElseThrow(() -> new AssertionError("no golden state was made"));
        maker.vms.list().stream().filter(v -> !v.name().equals(NAME)).map(Vm::id).forEach(maker.vms::delete);
        maker.gateway.close();
        // its files are copied from until the run ends
        Runtime.getRuntime().addShutdownHook(new Thread(maker::close));
    }
}
