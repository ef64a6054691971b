package dev.scalebox.storage.plan;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Sh;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Storage files applied to real btrfs pools on loop images: a single and a raid1 pool, datasets
 * with their properties read back with btrfs and lsattr, a quota that stops a write, drift set by
 * hand and corrected, and the safe mode refusing a device that carries ext4.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StoragePlanTest {

    private static Path dir;
    private static Path file;
    private static final StoragePlanner planner = new StoragePlanner(new StorageHost(new ProgramRunner()));

    @BeforeAll
    static void write() throws Exception {
        dir = LoopFs.tempDir();
        file = dir.resolve("storage.yaml");
        Files.writeString(file, """
                pools:
                  - name: one
                    devices:
                      - {image: %1$s/one.img, size: 1G}
                    mount: %1$s/one
                  - name: two
                    devices:
                      - {image: %1$s/two-a.img, size: 1G}
                      - {image: %1$s/two-b.img, size: 1G}
                    profile: raid1
                    mount: %1$s/two
                    options: [noatime]
                datasets:
                  - {name: templates, pool: one, compression: zstd, quota: 64M, role: templates}
                  - {name: vms, pool: two, nodatacow: true, role: vms}
                """.formatted(dir));
    }

    @AfterAll
    static void clean() {
        LoopFs.unmountUnder(dir);
        try (var images = Files.list(dir)) {
            images.filter(p -> p.toString().endsWith(".img")).forEach(image -> {
                for (String line : Sh.tryRun("losetup", "-j", image.toString()).stdout().lines().toList()) {
                    Sh.tryRun("losetup", "-d", line.substring(0, line.indexOf(':')));
                }
            });
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        LoopFs.deleteTree(dir);
    }

    @Test
    @Order(1)
    void poolsAndDatasetsComeUpAsWrittenAndASecondApplyChangesNothing() {
        PlanFile plan = PlanFile.read(file);
        assertThat(planner.plan(plan).changes()).hasSize(16);
        assertThat(Files.exists(dir.resolve("one.img"))).as("plan changes nothing").isFalse();

        planner.apply(plan, Change.Mode.safe);

        assertThat(Sh.run("btrfs", "filesystem", "df", dir.resolve("two").toString())).contains("Data, RAID1");
        assertThat(Sh.run("btrfs", "filesystem", "df", dir.resolve("one").toString())).contains("Data, single");
        assertThat(Sh.run("btrfs", "property", "get", dir.resolve("one/templates").toString(), "compression"))
                .isEqualTo("compression=zstd\n");
        assertThat(Sh.run("lsattr", "-d", dir.resolve("two/vms").toString()).split(" ")[0]).contains("C");
        assertThat(Sh.run("findmnt", "-n", "-o", "OPTIONS", dir.resolve("two").toString())).contains("noatime");
        assertThat(planner.plan(plan).changes()).isEmpty();
        assertThat(planner.apply(plan, Change.Mode.safe).changes()).isEmpty();
    }

    @Test
    @Order(2)
    void theQuotaStopsAWritePastIt() {
        Path templates = dir.resolve("one/templates");
        var small = Sh.tryRun("dd", "if=/dev/urandom", "of=" + templates.resolve("small"), "bs=1M", "count=16", "conv=fsync");
        assertThat(small.succeeded()).as(small.stderr()).isTrue();
        var big = Sh.tryRun("dd", "if=/dev/urandom", "of=" + templates.resolve("big"), "bs=1M", "count=96", "conv=fsync");
        assertThat(big.succeeded()).isFalse();
        assertThat(big.stderr()).contains("Disk quota exceeded");
        Sh.run("rm", templates.resolve("small").toString(), templates.resolve("big").toString());
        Sh.run("sync");
    }

    @Test
    @Order(3)
    void driftSetByHandIsSetBack() {
        Sh.run("btrfs", "property", "set", dir.resolve("one/templates").toString(), "compression", "lzo");
        Sh.run("chattr", "-C", dir.resolve("two/vms").toString());
        Sh.run("btrfs", "qgroup", "limit", "128M", dir.resolve("one/templates").toString());
        PlanFile plan = PlanFile.read(file);

        assertThat(planner.plan(plan).changes()).extracting(Change::describe).containsExactly(
                dir.resolve("one/templates") + ": compression lzo → zstd",
                dir.resolve("one/templates") + ": quota 128M → 64M",
                dir.resolve("two/vms") + ": nodatacow false → true (for files written from now on)");
        planner.apply(plan, Change.Mode.safe);
        assertThat(planner.plan(plan).changes()).isEmpty();
    }

    @Test
    @Order(4)
    void aDeviceWithAFilesystemIsRefusedUnlessForceDestructive() throws Exception {
        Path image = dir.resolve("used.img");
        Sh.run("truncate", "-s", "512M", image.toString());
        Sh.run("mkfs.ext4", "-q", "-F", image.toString());
        Path used = dir.resolve("used.yaml");
        Files.writeString(used, """
                pools:
                  - {name: used, devices: [{image: %1$s/used.img, size: 512M}], mount: %1$s/used}
                """.formatted(dir));
        PlanFile plan = PlanFile.read(used);

        assertThatThrownBy(() -> planner.apply(plan, Change.Mode.safe))
                .isInstanceOf(StoragePlanner.Stopped.class)
                .hasMessageContaining("carries ext4").hasMessageContaining("--mode force-destructive");
        assertThat(Sh.run("blkid", "-p", "-o", "value", "-s", "TYPE", image.toString())).isEqualTo("ext4\n");
        assertThat(Sh.tryRun("findmnt", dir.resolve("used").toString()).succeeded()).isFalse();

        planner.apply(plan, Change.Mode.force_destructive);
        assertThat(Sh.run("findmnt", "-n", "-o", "FSTYPE", dir.resolve("used").toString())).isEqualTo("btrfs\n");
        assertThat(planner.plan(plan).changes()).isEmpty();
    }

    @Test
    @Order(5)
    void aFailedApplyIsFinishedByTheNextAndTheLastApplyRollsBack() throws Exception {
        Path more = dir.resolve("more.yaml");
        Files.writeString(more, Files.readString(file).replace("quota: 64M", "quota: 32M")
                + "  - {name: scratch, pool: one, compression: lzo}\n");
        PlanFile plan = PlanFile.read(more);
        StorageHost failing = new StorageHost(new ProgramRunner()) {
            @Override
            void setCompression(Path path, PlanFile.Compression compression) {
                throw new ScaleboxException.HostFailure("the disk went away");
            }
        };
        StoragePlanner.Stopped stopped = org.junit.jupiter.api.Assertions.assertThrows(StoragePlanner.Stopped.class,
                () -> new StoragePlanner(failing).apply(plan, Change.Mode.safe));
        assertThat(stopped)
                .hasMessageContaining("stopped at '" + dir.resolve("one/scratch") + ": compression none → lzo'")
                .hasMessageContaining("the disk went away");
        // the quota and the dataset were done; the next apply does only what is left
        assertThat(planner.plan(plan).changes()).extracting(Change::describe)
                .containsExactly(dir.resolve("one/scratch") + ": compression none → lzo");

        assertThat(stopped.done).extracting(Change::describe).containsExactly(
                dir.resolve("one/templates") + ": quota 64M → 32M", "create dataset " + dir.resolve("one/scratch"));
        planner.apply(plan, Change.Mode.safe);
        // the rollback of the stopped apply, as the journal keeps it: the quota back, the empty dataset gone
        ChangeLog.Undo undo = ChangeLog.undo(ChangeLog.toJson(stopped.done));
        assertThat(undo.cannot()).isEmpty();
        planner.execute(undo.changes(), Change.Mode.safe);
        assertThat(Sh.run("btrfs", "qgroup", "show", "-re", "--raw", "-f", dir.resolve("one/templates").toString()))
                .contains(Long.toString(64L << 20));
        assertThat(Files.exists(dir.resolve("one/scratch"))).isFalse();
        assertThat(planner.plan(PlanFile.read(file)).changes()).isEmpty();
    }

    @Test
    @Order(6)
    void undeclaredDatasetsGoOnlyWithPruneAndDataOnlyWhenForceDestructive() throws Exception {
        Sh.run("btrfs", "subvolume", "create", dir.resolve("one/extra").toString());
        Sh.run("btrfs", "subvolume", "create", dir.resolve("two/full").toString());
        Files.writeString(dir.resolve("two/full/keep"), "data");
        PlanFile plan = PlanFile.read(file);

        StoragePlanner.Plan left = planner.plan(plan);
        assertThat(left.changes()).isEmpty();
        assertThat(left.notes()).anyMatch(n -> n.contains("one/extra is not in the file"))
                .anyMatch(n -> n.contains("two/full is not in the file"));

        assertThat(planner.plan(plan, true).changes()).hasSize(2);
        assertThatThrownBy(() -> planner.apply(plan, Change.Mode.safe, true))
                .isInstanceOf(StoragePlanner.Stopped.class).hasMessageContaining("holds data");
        assertThat(Files.exists(dir.resolve("one/extra"))).isFalse();
        assertThat(Files.readString(dir.resolve("two/full/keep"))).isEqualTo("data");

        planner.apply(plan, Change.Mode.force_destructive, true);
        assertThat(Files.exists(dir.resolve("two/full"))).isFalse();
        assertThat(planner.plan(plan, true).changes()).isEmpty();
    }

    @Test
    @Order(7)
    void mistakesInTheFileNameTheirLineAndColumnAndChangeNothing() throws Exception {
        record Case(String yaml, String message) {
        }
        List<Case> cases = List.of(
                new Case("pools:\n  - name: p\n    devices: [/dev/null]\n    mount: /p\n    colour: red\n",
                        "(line 5, column 5): /pools/0/colour: unknown key 'colour'"),
                new Case("datasets:\n  - {name: d, pool: nowhere}\n",
                        "(line 2, column 15): /datasets/0/pool: pool 'nowhere' is not declared under pools"),
                new Case("pools:\n  - {name: p, devices: [{image: /p.img, size: 1G}], mount: /p, profile: raid1}\n",
                        "raid1 needs at least 2 devices, not 1"),
                new Case("pools:\n  - {name: z, driver: zfs, devices: [/dev/sdz], mount: /z}\n",
                        "the zfs driver is not available yet"),
                new Case("pools:\n  - {name: '../x', devices: [/dev/sdz], mount: /x}\n", "/pools/0/name"),
                new Case("datasets:\n  - {name: d, pool: p, quota: lots}\n", "'lots' is not a size"),
                new Case("exports:\n  - {dataset: d}\n", "'exports' is not supported yet"));
        for (Case c : cases) {
            Path bad = dir.resolve("bad.yaml");
            Files.writeString(bad, c.yaml());
            assertThatThrownBy(() -> PlanFile.read(bad)).as(c.yaml())
                    .isInstanceOf(ScaleboxException.BadRequest.class).hasMessageContaining(c.message());
        }
    }
}
