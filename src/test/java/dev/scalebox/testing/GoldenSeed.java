package dev.scalebox.testing;

import dev.scalebox.storage.DataLayout;
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
import java.util.function.Consumer;

/**
 * One golden state for the test gateways of a run: making one is a whole boot, and every gateway
 * of the tests makes the same one (debian-base, 2 vCPUs, 512 MiB). It is made once, in a data
 * directory of its own, by a real gateway on a real user's first connection; each gateway then
 * gets a copy (its disk and memory by reflink, its record, the gateway's internal key it was made
 * for) before it starts, and finds its golden state current. The gateway tests of the golden
 * state's making itself run a service of their own (ServeRestartTest).
 */
public final class GoldenSeed {

    private static final String NAME = "golden-debian-base";
    private static TestGateway maker;
    private static VmStore.Row golden;

    private GoldenSeed() {
    }

    /** Gives {@code env}, whose gateway keys live in {@code keyDir}, a copy of the golden state. */
    static void plant(TestVms env, Path keyDir) {
        plantInto(env.layout, keyDir, env.store().host(), env.portMin() + 99, row -> {
            if (!env.store().insert(row)) {
                throw new AssertionError("the golden state's copy has no record in " + env.layout.root());
            }
        });
    }

    /**
     * Gives the data directory {@code layout} of host {@code host}, whose gateway keys live in
     * {@code keyDir}, a copy of the golden state (by reflink on the same pool, else in full) under
     * the name that host gives its own, with SSH port {@code port}, and hands its record to
     * {@code record} to be stored.
     */
    public static synchronized void plantInto(DataLayout layout, Path keyDir, String host, int port,
                                              Consumer<VmStore.Row> record) {
        if (golden == null) {
            make();
        }
        try {
            Files.createDirectories(keyDir);
            Files.copy(maker.env.layout.root().resolve("gateway/box_key"), keyDir.resolve("box_key"),
                    StandardCopyOption.REPLACE_EXISTING);
            Sh.run("cp", "--reflink=auto", "--sparse=always", maker.env.layout.volumeImage(golden.id()).toString(),
                    layout.volumeImage(golden.id()).toString());
            Sh.run("cp", "--reflink=auto", "--sparse=always", maker.env.layout.memoryState(golden.id(), true).toString(),
                    layout.memoryState(golden.id(), true).toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Made now, after this directory's template: it is not taken for one that predates a rebuild.
        record.accept(new VmStore.Row(golden.id(), NAME + "-" + host, golden.template(), VmStatus.SUSPENDED.label(), null,
                golden.vcpuCount(), golden.memSizeMib(), golden.diskSizeGib(), port, Instant.now(), true, null, "internet", 80));
    }

    private static void make() {
        maker = new TestGateway("golden-seed", 16001, Duration.ofHours(1), false);
        Path key = maker.addUser("seed");
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(maker.gateway.port())));
        argv.addAll(TestGateway.clientOptions(key));
        argv.addAll(List.of("box@127.0.0.1", "true"));
        Sh.run(argv.toArray(String[]::new));
        golden = maker.env.store().find(NAME + "-" + maker.env.store().host())
                .orElseThrow(() -> new AssertionError("no golden state was made"));
        maker.vms.list().stream().filter(v -> !v.id().equals(golden.id())).map(Vm::id).forEach(maker.vms::delete);
        maker.gateway.close();
        // its files are copied from until the run ends
        Runtime.getRuntime().addShutdownHook(new Thread(maker::close));
    }
}
