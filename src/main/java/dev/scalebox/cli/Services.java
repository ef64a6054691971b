package dev.scalebox.cli;

import dev.scalebox.config.Settings;
import dev.scalebox.gateway.Users;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.network.HostNetwork;
import dev.scalebox.network.HttpsConfig;
import dev.scalebox.network.NetworkConfig;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.Database;
import dev.scalebox.template.TemplateService;
import dev.scalebox.hypervisor.Accelerator;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.QemuUsers;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.VmLimits;
import dev.scalebox.vm.VmService;

/**
 * The in-process services over one data directory, wired once. Opening creates the data directory
 * layout, migrates the store and adopts its records of no host ({@link Database#adoptUnowned}), so
 * call it only once the data directory is where it should be (after {@code storage init} when a
 * pool is wanted).
 */
record Services(Settings settings, DataLayout layout, ProgramRunner runner, Filesystems filesystems, Database store,
                StorageService storage, TemplateService templates, Hypervisor hypervisor, VmService vms, Users users) {

    static Services open(Settings settings) {
        DataLayout layout = new DataLayout(settings.dataDir());
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        Filesystems filesystems = new Filesystems(runner);
        Database db = Database.open(settings.store(), layout.database(), settings.hostName());
        db.adoptUnowned();
        StorageService storage = new StorageService(layout, runner, filesystems);
        TemplateService templates = new TemplateService(storage, db.templates(), runner, filesystems);
        Accelerator accelerator = Accelerator.choose(settings.accel());
        Admission admission = new Admission(settings.maxConcurrentStarts()
                .orElse(Admission.defaultLimit(Runtime.getRuntime().availableProcessors())));
        VmLimits limits = new VmLimits(settings.defaultVcpuCount(), settings.defaultMemSizeMib(),
                settings.defaultDiskSizeGib(), settings.maxDiskSizeGib(), settings.sshHost(), settings.bindAddress(),
                settings.portMin(), settings.portMax(), settings.templateSnapshotsMax(),
                settings.warmGuests());
        HostNetwork network = new HostNetwork(runner, new NetworkConfig(settings.bridged(), settings.networkBridge(),
                settings.networkCidr(), settings.bindAddress(), settings.egressDefault(), settings.boxEgress()),
                settings.httpDomain().map(domain -> new HttpsConfig(domain, settings.httpsBind(), settings.httpsPort(),
                        settings.httpAcmeEmail().orElse(null), layout.root().resolve("caddy"), wakeUpstream(settings))));
        Hypervisor hypervisor = new Hypervisor(runner, accelerator, settings.tcgCacheMib(), settings.kvmCpuModel(),
                new QemuUsers(layout.root(), layout.lentToQemu(), layout.kernel()), network::plug);
        VmService vms = new VmService(storage, hypervisor, db.vms(), db.hosts(), limits, templates, admission, network);
        return new Services(settings, layout, runner, filesystems, db, storage, templates, hypervisor, vms,
                new Users(db.users()));
    }

    /** Where Caddy reaches the API's wake endpoint: the API's own address, or loopback when it listens on all. */
    private static String wakeUpstream(Settings settings) {
        String bind = settings.apiBind();
        String host = bind.equals("0.0.0.0") ? "127.0.0.1"
                : bind.equals("::") ? "[::1]"
                : bind.contains(":") ? "[" + bind + "]" : bind;
        return host + ":" + settings.apiPort();
    }
}
