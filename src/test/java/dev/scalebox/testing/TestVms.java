package dev.scalebox.testing;

import dev.scalebox.network.Egress;
import dev.scalebox.network.HostNetwork;
import dev.scalebox.network.HttpsConfig;
import dev.scalebox.network.NetworkConfig;
import dev.scalebox.network.Subnet;
import dev.scalebox.host.Filesystems;
import dev.scalebox.hypervisor.Accelerator;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.template.TemplateService;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.QemuUsers;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.store.Database;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.BootLimits;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmLimits;
import dev.scalebox.vm.VmService;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import java.util.Optional;

/**
 * A data directory of its own for one test class, on the shared base template's btrfs pool: the
 * template and kernel are reflinked in, so it costs nothing, and test classes running side by
 * side never see each other's VMs. Comes with a real SSH key pair for the OpenSSH client. Every
 * VM started here is killed by {@link #close}.
 */
public final class TestVms implements AutoCloseable {

    private static final Accelerator ACCELERATOR = Accelerator.choose("auto");
    /**
     * The host's one line of starts, shared by every service of the test run as by the services of
     * one host: test classes run side by side, but their guests start within the host's limit.
     */
    public static final Admission STARTS = new Admission(Admission.defaultLimit(Runtime.getRuntime().availableProcessors()));

    public final DataLayout layout;
    public final StorageService storage;
    public final TemplateService templates;
    public final Path privateKey;
    public final String publicKey;
    private final Path keyDir = LoopFs.tempDir();
    private final Database db;
    private final int portMin;
    public final HostNetwork network;
    private int templateSnapshotsMax;
    private int warmGuests;

    public TestVms(String name, int portMin) {
        this(name, portMin, layout -> null);
    }

    /** An environment whose VMs have the HTTPS addresses {@code https} gives, for its data directory. */
    public TestVms(String name, int portMin, Function<DataLayout, HttpsConfig> https) {
        this.portMin = portMin;
        BaseTemplate base = BaseTemplate.get();
        layout = new DataLayout(base.pool.root().resolve("envs").resolve(name));
        this.network = new HostNetwork(new ProgramRunner(), networkOf(portMin), Optional.ofNullable(https.apply(layout)));
        layout.createDirectories();
        Sh.run("cp", "--reflink=always", base.layout.templateImage(TemplateService.BASE).toString(),
                layout.templateImage(TemplateService.BASE).toString());
        for (String file : List.of("vmlinuz", "initrd.img", "cmdline")) {
            Sh.run("cp", base.layout.kernel().resolve(file).toString(), layout.kernel().resolve(file).toString());
        }
        ProgramRunner runner = new ProgramRunner();
        Filesystems filesystems = new Filesystems(runner);
        storage = new StorageService(layout, runner, filesystems);
        db = Database.openSqlite(layout.database());
        templates = new TemplateService(storage, db.templates(), runner, filesystems);
        templates.reconcile();
        privateKey = keyDir.resolve("id_ed25519");
        Sh.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", privateKey.toString());
        try {
            publicKey = Files.readString(Path.of(privateKey + ".pub")).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Lets the services made from now on keep up to {@code max} memory snapshots per template, so
     * that VMs start from them; with none (the default) every VM boots.
     */
    public TestVms withTemplateSnapshots(int max) {
        templateSnapshotsMax = max;
        return this;
    }

    /** Lets the services made from now on keep {@code count} warm guests per template snapshot; none by default. */
    public TestVms withWarmGuests(int count) {
        warmGuests = count;
        return this;
    }

    /** A new service over this store and data directory, as after a restart of Scalebox. */
    public VmService service() {
        return service(64);
    }

    /** A service whose VMs have a TCG translation cache of {@code tcgCacheMib}. */
    public VmService service(int tcgCacheMib) {
        return service(tcgCacheMib, BootLimits.DEFAULT);
    }

    /** A service that gives up on a start as {@code limits} say. */
    public VmService service(BootLimits limits) {
        return service(64, limits, STARTS);
    }

    /** A service whose starts wait in {@code line} instead of the host's shared one. */
    public VmService service(Admission line) {
        return service(64, BootLimits.DEFAULT, line);
    }

    private VmService service(int tcgCacheMib, BootLimits limits) {
        return service(tcgCacheMib, limits, STARTS);
    }

    /** A service whose VMs are on QEMU's user-mode network, as with NETWORK=user. */
    public VmService userModeService() {
        NetworkConfig bridged = network.config();
        return service(64, BootLimits.DEFAULT, STARTS, new HostNetwork(new ProgramRunner(), new NetworkConfig(false,
                bridged.bridge(), bridged.subnet(), "127.0.0.1", Egress.INTERNET, Egress.INTERNET)));
    }

    private VmService service(int tcgCacheMib, BootLimits limits, Admission line) {
        return service(tcgCacheMib, limits, line, network);
    }

    private VmService service(int tcgCacheMib, BootLimits limits, Admission line, HostNetwork network) {
        VmService vms = new VmService(storage, new Hypervisor(new ProgramRunner(), ACCELERATOR, tcgCacheMib,
                new QemuUsers(layout.root(), layout.lentToQemu(), layout.kernel()), network::plug), db.vms(), db.hosts(),
                new VmLimits(2, 512, 2, 100, "127.0.0.1", "127.0.0.1", portMin, portMin + 99, templateSnapshotsMax,
                        warmGuests), templates, line, limits,
                network);
        vms.startNetwork();
        return vms;
    }

    /**
     * The network of this directory's guests: a bridge, subnet and nftables tables of its own, so
     * that test classes side by side never share one; named after the SSH ports, so a run after a
     * failed one takes the same ones over.
     */
    public static NetworkConfig networkOf(int portMin) {
        int third = (portMin / 100) % 256;
        return new NetworkConfig(true, "sbt" + portMin, Subnet.parse("10.79." + third + ".0/24").orElseThrow(),
                "127.0.0.1", Egress.INTERNET, Egress.INTERNET);
    }

    /**
     * Starts a web server on port 80 of the guest that answers every request "hello from web"
     * (perl, which the base template has), and returns once it listens. It reads a request's head
     * before it answers, so a client never sees its connection reset.
     */
    public void serveHttp(Vm vm) {
        ssh(vm, "setsid nohup perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 80, Listen => 16,"
                + " ReuseAddr => 1) or die; while ($c = $s->accept) { while (<$c>) { last if /^\\r?\\n$/ }"
                + " print $c \"HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello from web\\n\"; close $c }'"
                + " >/dev/null 2>&1 < /dev/null &\n"
                + "for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/80) 2>/dev/null && break; sleep 0.1; done");
    }

    /** Runs {@code command} in the VM with the real OpenSSH client; returns stdout. */
    public String ssh(Vm vm, String command) {
        return Sh.run("ssh", "-i", privateKey.toString(), "-p", Integer.toString(vm.sshPort()),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "root@" + vm.sshHost(), command);
    }

    /** The VM records, as a crash could leave them. */
    public dev.scalebox.store.VmStore store() {
        return db.vms();
    }

    public dev.scalebox.store.UserStore userStore() {
        return db.users();
    }

    /** The lowest of this directory's SSH ports; its VMs take them from here, a hundred in all. */
    public int portMin() {
        return portMin;
    }

    public Path runDir(String id) {
        return layout.runDir(id);
    }

    public long qemuPid(String id) {
        try {
            return Long.parseLong(Files.readString(runDir(id).resolve("qemu.pid")).strip());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<Long> qemuProcessesOf(String id) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> List.of(a).contains("scalebox-" + id)).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    /**
     * The pids of the warm instances (blank QEMUs) started over this data directory: QEMUs named
     * {@code scalebox-instance-…} whose run directory is still their own, not yet handed to a VM.
     */
    public List<Long> warmInstances() {
        return ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(List::of)
                        .flatMap(a -> a.stream().filter(x -> x.startsWith("scalebox-instance-")).findFirst())
                        .filter(name -> Files.exists(runDir(name.substring("scalebox-".length())).resolve("qemu.pid")))
                        .isPresent())
                .map(ProcessHandle::pid).toList();
    }

    @Override
    public void close() {
        ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains(layout.root().toString()))
                        .orElse(false))
                .forEach(ProcessHandle::destroyForcibly);
        network.tearDown();
        LoopFs.deleteTree(keyDir);
    }
}
