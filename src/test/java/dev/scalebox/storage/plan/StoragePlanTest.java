package dev.scalebox.storage.plan;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.testing.TestImages;
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
    private static StoragePlanner.Targets targets;
    private static StoragePlanner planner;

    @BeforeAll
    static void write() throws Exception {
        dir = LoopFs.tempDir();
        file = dir.resolve("storage.yaml");
        // exportfs reads only /etc/exports and /etc/exports.d, so the test's exports file is there, by a name of its own
        targets = new StoragePlanner.Targets(dir.resolve("data"),
                Path.of("/etc/exports.d/scalebox-test-" + dir.getFileName() + ".exports"), dir.resolve("smb.conf"),
                dir.resolve("scalebox-shares.conf"));
        planner = new StoragePlanner(new StorageHost(new ProgramRunner()), targets);
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
                  - {name: vms, pool: one, role: vms}
                  - {name: images, pool: two, nodatacow: true}
                """.formatted(dir));
    }

    @AfterAll
    static void clean() throws Exception {
        Files.deleteIfExists(targets.exportsFile());
        Sh.tryRun("exportfs", "-ra");
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
        assertThat(planner.plan(plan).changes()).hasSize(19);
        assertThat(Files.exists(dir.resolve("one.img"))).as("plan changes nothing").isFalse();

        planner.apply(plan, Change.Mode.safe);

        assertThat(Sh.run("btrfs", "filesystem", "df", dir.resolve("two").toString())).contains("Data, RAID1");
        assertThat(Sh.run("btrfs", "filesystem", "df", dir.resolve("one").toString())).contains("Data, single");
        assertThat(Sh.run("btrfs", "property", "get", dir.resolve("one/templates").toString(), "compression"))
                .isEqualTo("compression=zstd\n");
        assertThat(Sh.run("lsattr", "-d", dir.resolve("two/images").toString()).split(" ")[0]).contains("C");
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
        Sh.run("chattr", "-C", dir.resolve("two/images").toString());
        Sh.run("btrfs", "qgroup", "limit", "128M", dir.resolve("one/templates").toString());
        PlanFile plan = PlanFile.read(file);

        assertThat(planner.plan(plan).changes()).extracting(Change::describe).containsExactly(
                dir.resolve("one/templates") + ": compression lzo → zstd",
                dir.resolve("one/templates") + ": quota 128M → 64M",
                dir.resolve("two/images") + ": nodatacow false → true (for files written from now on)");
        planner.apply(plan, Change.Mode.safe);
        assertThat(planner.plan(plan).changes()).isEmpty();
    }

    @Test
    @Order(4)
    void aDeviceWithAFilesystemIsKeptUnlessTheOperatorSaysOrForceDestructive() throws Exception {
        PlanFile used = usedPool("used");
        PlanFile asked = usedPool("asked");

        assertThatThrownBy(() -> planner.apply(used, Change.Mode.safe))
                .isInstanceOf(StoragePlanner.Stopped.class)
                .hasMessageContaining("carries ext4").hasMessageContaining("--mode interactive or force-destructive");
        List<String> shown = new java.util.ArrayList<>();
        StoragePlanner declining = new StoragePlanner(new StorageHost(new ProgramRunner(), (device, signatures) -> {
            shown.add(signatures);
            return false;
        }), targets);
        assertThatThrownBy(() -> declining.apply(asked, Change.Mode.interactive))
                .isInstanceOf(StoragePlanner.Stopped.class).hasMessageContaining("kept /dev/loop");
        assertThat(shown).singleElement().asString().contains("ext4");
        for (String name : List.of("used", "asked")) {
            assertThat(Sh.run("blkid", "-p", "-o", "value", "-s", "TYPE", dir.resolve(name + ".img").toString()))
                    .isEqualTo("ext4\n");
            assertThat(Sh.tryRun("findmnt", dir.resolve(name).toString()).succeeded()).isFalse();
        }

        new StoragePlanner(new StorageHost(new ProgramRunner(), (device, signatures) -> true), targets)
                .apply(asked, Change.Mode.interactive);
        planner.apply(used, Change.Mode.force_destructive);
        for (String name : List.of("used", "asked")) {
            assertThat(Sh.run("findmnt", "-n", "-o", "FSTYPE", dir.resolve(name).toString())).isEqualTo("btrfs\n");
        }
        assertThat(planner.plan(used).changes()).isEmpty();
    }

    /** A pool on a 512M image that carries ext4. */
    private static PlanFile usedPool(String name) throws Exception {
        Path image = dir.resolve(name + ".img");
        Sh.run("truncate", "-s", "512M", image.toString());
        Sh.run("mkfs.ext4", "-q", "-F", image.toString());
        Path yaml = dir.resolve(name + ".yaml");
        Files.writeString(yaml, """
                pools:
                  - {name: %2$s, devices: [{image: %1$s/%2$s.img, size: 512M}], mount: %1$s/%2$s}
                """.formatted(dir, name));
        return PlanFile.read(yaml);
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
                () -> new StoragePlanner(failing, targets).apply(plan, Change.Mode.safe));
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
        ChangeLog.Undo undo = ChangeLog.undo(ChangeLog.toJson(stopped.done), failing);
        assertThat(undo.cannot()).isEmpty();
        StoragePlanner.execute(failing, undo.changes(), Change.Mode.safe);
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

    private static final String POOL = "pools:\n  - {name: p, devices: [/dev/sdz], mount: /p}\n";

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
                new Case(POOL + "datasets: [{name: d, pool: p}]\nexports:\n  - {dataset: p/e, clients: [10.0.0.0/8]}\n",
                        "(line 5, column 6): /exports/0/dataset: dataset 'p/e' is not declared"),
                new Case(POOL + "datasets: [{name: d, pool: p}]\nexports:\n  - {dataset: p/d, clients: [example.com]}\n",
                        "/exports/0/clients/0: 'example.com' is not a CIDR"),
                new Case(POOL + "datasets: [{name: d, pool: p}]\nexports:\n  - {dataset: p/d, clients: [10.0.0.0/8], options: [rw, evil]}\n",
                        "'evil' is not an export option"),
                new Case("share_users:\n  - {name: alice, password: hunter2}\n",
                        "(line 2, column 19): /share_users/0/password: a password is never written in the storage file"),
                new Case(POOL + "datasets: [{name: d, pool: p}]\nshares:\n  - {name: s, dataset: p/d, valid_users: [bob]}\n",
                        "/shares/0/valid_users/0: user 'bob' is not declared under share_users"),
                new Case(POOL + "  - {name: q, devices: [/dev/sdy], mount: /q}\n"
                        + "datasets: [{name: t, pool: p, role: templates}, {name: v, pool: q, role: vms}]\n",
                        "/datasets/1/pool: the templates, vms and volumes roles must be in one pool"),
                new Case(POOL + "datasets: [{name: t, pool: p, role: templates}, {name: v, pool: p, role: vms, nodatacow: true}]\n",
                        "/datasets/1/nodatacow: the templates, vms and volumes roles must agree on nodatacow"));
        for (Case c : cases) {
            Path bad = dir.resolve("bad.yaml");
            Files.writeString(bad, c.yaml());
            assertThatThrownBy(() -> PlanFile.read(bad)).as(c.yaml())
                    .isInstanceOf(ScaleboxException.BadRequest.class).hasMessageContaining(c.message());
        }
    }

    @Test
    @Order(8)
    void aVmDiskMadeOnTheRoleDatasetsIsStillAReflinkCloneOfItsTemplate() throws Exception {
        Path data = targets.dataDir();
        assertThat(Files.readSymbolicLink(data.resolve("templates"))).isEqualTo(dir.resolve("one/templates"));
        assertThat(Files.readSymbolicLink(data.resolve("vms"))).isEqualTo(dir.resolve("one/vms"));
        DataLayout layout = new DataLayout(data);
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        StorageService storage = new StorageService(layout, runner, new Filesystems(runner));
        // 16 MiB of data; a full copy would write it all again in the vms dataset
        Path template = TestImages.ext4(layout.templateImage("base"), 1, 16);

        Path disk = storage.createRootfs("base", "vm-on-datasets", 1,
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@laptop");

        assertThat(disk.toRealPath()).isEqualTo(dir.resolve("one/vms/vm-on-datasets.ext4"));
        Sh.run("sync");
        String du = Sh.run("btrfs", "filesystem", "du", "--raw", disk.toString());
        assertThat(Long.parseLong(du.lines().skip(1).findFirst().orElseThrow().trim().split("\\s+")[1]))
                .as("bytes of the VM's disk not shared with its template (the key written into it)")
                .isLessThan(4L << 20);
        // the vms role cannot move while its dataset holds a disk: Scalebox would lose sight of it
        Path moved = dir.resolve("moved.yaml");
        Files.writeString(moved, Files.readString(file).replace("{name: vms, pool: one, role: vms}",
                "{name: vms, pool: one}\n  - {name: vms2, pool: one, role: vms}"));
        assertThatThrownBy(() -> planner.plan(PlanFile.read(moved)))
                .isInstanceOf(ScaleboxException.Conflict.class).hasMessageContaining(dir.resolve("one/vms") + " holds files");
        storage.deleteRootfs(disk);
        Files.delete(template);

        Path unmounted = Files.createDirectories(dir.resolve("unmounted-data"));
        Files.createSymbolicLink(unmounted.resolve("vms"), dir.resolve("gone/vms"));
        assertThatThrownBy(() -> new DataLayout(unmounted).createDirectories())
                .hasMessageContaining("vms links to " + dir.resolve("gone/vms") + ", which is missing: is its pool mounted?");
        try (var made = Files.list(unmounted)) {
            assertThat(made).as("nothing made beside the broken link").hasSize(1);
        }
    }

    @Test
    @Order(9)
    void exportsAndSharesAreWrittenCheckedServedAndRolledBack() throws Exception {
        String user = "sbshare" + ProcessHandle.current().pid() % 1000;
        Path secret = dir.resolve("share.pw");
        Files.writeString(secret, "s3cret-Pw\n");
        Files.setPosixFilePermissions(secret, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        int port;
        try (var probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path samba = dir.resolve("samba");
        StringBuilder global = new StringBuilder("[global]\n   server role = standalone server\n   interfaces = lo\n"
                + "   bind interfaces only = yes\n   smb ports = " + port + "\n   load printers = no\n"
                + "   printcap name = /dev/null\n   disable spoolss = yes\n"
                + "   passdb backend = tdbsam:" + samba.resolve("private/passdb.tdb") + "\n"
                + "   log file = " + samba.resolve("log.%m") + "\n");
        for (String d : List.of("private", "lock", "state", "cache", "pid", "ncalrpc")) {
            Files.createDirectories(samba.resolve(d));
            global.append("   ").append(d.equals("lock") ? "lock directory" : d.equals("ncalrpc") ? "ncalrpc dir"
                    : d + (d.equals("private") ? " dir" : " directory")).append(" = ").append(samba.resolve(d)).append('\n');
        }
        Files.writeString(targets.smbConf(), global.toString());
        Path shares = dir.resolve("shares.yaml");
        Files.writeString(shares, Files.readString(file) + """
                  - {name: shared, pool: one, role: shared}
                exports:
                  - {dataset: one/shared, clients: [127.0.0.1/32, "fd00::/64"]}
                share_users:
                  - {name: %s, password_file: %s}
                shares:
                  - {name: projects, dataset: one/shared, valid_users: [%1$s]}
                """.formatted(user, secret));
        Process smbd = null;
        Sh.run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user);
        try {
            PlanFile plan = PlanFile.read(shares);
            Path path = dir.resolve("one/shared");
            String line = path + " 127.0.0.1/32(rw,sync,no_subtree_check) fd00::/64(rw,sync,no_subtree_check)";
            StoragePlanner.Plan planned = planner.apply(plan, Change.Mode.safe);
            assertThat(planned.changes()).extracting(Change::describe).contains(
                    "add NFS export " + line,
                    "set the Samba password of " + user + " from file " + secret,
                    "include " + targets.sharesInclude() + " in " + targets.smbConf(),
                    "add Samba share [projects]: path = " + path + "; valid users = " + user
                            + "; read only = no; browseable = yes");
            assertThat(ChangeLog.toJson(planned.changes())).doesNotContain("s3cret");
            assertThat(planner.plan(plan).changes()).as("a second plan").isEmpty();

            assertThat(Files.readString(targets.exportsFile())).contains(line);
            assertThat(Sh.run("exportfs", "-v")).contains(path.toString());
            assertThat(Sh.run("testparm", "-s", "--suppress-prompt", targets.smbConf().toString()))
                    .contains("[projects]").contains("path = " + path);

            Files.writeString(path.resolve("hello.txt"), "hello\n");
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            // smbd leads a process group of its own: at its end it signals its whole group
            smbd = new ProcessBuilder("smbd", "--foreground", "-s", targets.smbConf().toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("smbd.out").toFile()).start();
            String login = user + "%s3cret-Pw";
            String listing = awaitSmb(List.of("smbclient", "-L", "//127.0.0.1", "-p", Integer.toString(port), "-U", login));
            assertThat(listing).contains("projects").contains("Disk");
            assertThat(Sh.run("smbclient", "//127.0.0.1/projects", "-p", Integer.toString(port), "-U", login, "-c", "ls"))
                    .contains("hello.txt");
            assertThat(Sh.tryRun("smbclient", "-L", "//127.0.0.1", "-p", Integer.toString(port), "-U", user + "%wrong")
                    .succeeded()).isFalse();

            // an export changed by hand is drift, and is set back
            Files.writeString(targets.exportsFile(), Files.readString(targets.exportsFile()).replace("(rw,", "(ro,"));
            assertThat(planner.plan(plan).changes()).extracting(Change::describe).singleElement().asString()
                    .startsWith("NFS export " + path + " 127.0.0.1/32(ro,");
            planner.apply(plan, Change.Mode.safe);

            ChangeLog.Undo undo = ChangeLog.undo(ChangeLog.toJson(planned.changes()), new StorageHost(new ProgramRunner()));
            assertThat(undo.cannot()).anyMatch(c -> c.startsWith("set the Samba password of " + user))
                    .anyMatch(c -> c.startsWith("keep Scalebox's shared in " + path) && c.contains("kept"));
            StoragePlanner.execute(new StorageHost(new ProgramRunner()), undo.changes(), Change.Mode.safe);
            assertThat(Files.readString(targets.exportsFile())).doesNotContain(path.toString());
            assertThat(Sh.run("exportfs", "-v")).doesNotContain(path.toString());
            assertThat(Files.readString(targets.sharesInclude())).doesNotContain("[projects]");
            assertThat(undo.cannot()).anyMatch(c -> c.startsWith("create dataset " + path + ": it holds data now"));
            assertThat(Files.readString(path.resolve("hello.txt"))).isEqualTo("hello\n");
        } finally {
            if (smbd != null) {
                smbd.destroy();
                smbd.waitFor();
            }
            ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(a -> List.of(a)
                    .contains("--configfile=" + targets.smbConf())).orElse(false)).forEach(ProcessHandle::destroy);
            Sh.tryRun("userdel", user);
        }
    }

    @Test
    @Order(10)
    void aPasswordFromTheEnvironmentIsReadOnlyFromTheVariableTheFileNames() throws Exception {
        Path yaml = dir.resolve("env.yaml");
        Files.writeString(yaml, "share_users:\n  - {name: root, password_env: SB_TEST_SMB_PW}\n");
        PlanFile plan = PlanFile.read(yaml);

        assertThatThrownBy(() -> new StoragePlanner(new StorageHost(new ProgramRunner()), targets, name -> null).plan(plan))
                .isInstanceOf(ScaleboxException.BadRequest.class)
                .hasMessageContaining("the password of root is to come from $SB_TEST_SMB_PW, which is not set");
        StoragePlanner withVariable = new StoragePlanner(new StorageHost(new ProgramRunner()), targets,
                name -> name.equals("SB_TEST_SMB_PW") ? "from-env" : null);
        assertThat(withVariable.plan(plan).changes()).extracting(Change::describe)
                .containsExactly("set the Samba password of root from $SB_TEST_SMB_PW");
    }

    @Test
    @Order(11)
    void afterARebootAnApplyMountsThePoolAndFindsItsDatasetsAsTheyWere() throws Exception {
        Path yaml = dir.resolve("reboot.yaml");
        Files.writeString(yaml, """
                pools:
                  - name: three
                    devices:
                      - {image: %1$s/three.img, size: 1G}
                    mount: %1$s/three
                datasets:
                  - {name: kept, pool: three, compression: zstd, quota: 64M}
                """.formatted(dir));
        PlanFile plan = PlanFile.read(yaml);
        planner.apply(plan, Change.Mode.safe);
        Files.writeString(dir.resolve("three/kept/file"), "still here");
        Sh.run("sync");
        // as a reboot leaves it: not mounted, its image not attached
        Sh.run("umount", dir.resolve("three").toString());
        String loop = Sh.run("losetup", "-j", dir.resolve("three.img").toString());
        Sh.run("losetup", "-d", loop.substring(0, loop.indexOf(':')));

        StoragePlanner.Plan before = planner.plan(plan);
        assertThat(before.changes()).extracting(Change::describe).noneMatch(d -> d.contains("kept"));
        assertThat(before.notes()).anyMatch(n -> n.contains("pool three is not mounted"));
        assertThat(planner.apply(plan, Change.Mode.safe).changes()).extracting(Change::describe)
                .containsExactly("attach " + dir.resolve("three.img") + " to a loop device",
                        "mount pool three on " + dir.resolve("three"));
        assertThat(Files.readString(dir.resolve("three/kept/file"))).isEqualTo("still here");
        assertThat(planner.plan(plan).changes()).isEmpty();
    }

    /** smbclient's answer once smbd, just started, takes connections. */
    private static String awaitSmb(List<String> argv) throws InterruptedException {
        for (int i = 0; ; i++) {
            var r = Sh.tryRun(argv.toArray(String[]::new));
            if (r.succeeded() || i == 50) {
                assertThat(r.succeeded()).as(r.stdout() + r.stderr()).isTrue();
                return r.stdout();
            }
            Thread.sleep(200);
        }
    }
}
