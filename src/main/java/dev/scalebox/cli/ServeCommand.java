package dev.scalebox.cli;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.cluster.Cluster;
import dev.scalebox.cluster.ClusterSecret;
import dev.scalebox.config.Setting;
import dev.scalebox.config.Settings;
import dev.scalebox.gateway.Gateway;
import dev.scalebox.host.HostPrograms;
import dev.scalebox.storage.DataDirLock;
import dev.scalebox.storage.DataLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** {@code scalebox serve}: the API server, in the foreground until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the Scalebox API server in the foreground.")
final class ServeCommand implements Callable<Integer> {

    /** The host programs the service needs from the start. */
    static final List<String> PROGRAMS = List.of("cp", "debugfs", "resize2fs", "e2fsck", "mke2fs", "qemu-system-x86_64",
            "setsid", "setpriv");
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Mixin
    CommonOptions common;

    @Mixin
    ListenOptions listen;

    @Override
    public Integer call() throws InterruptedException {
        Settings settings = common.settings(listen.flags());
        HostPrograms.requireAll(PROGRAMS);
        if (settings.bridged()) {
            HostPrograms.requireAll(List.of("ip", "nft", "dnsmasq"));
        }
        if (settings.httpDomain().isPresent()) {
            HostPrograms.requireAll(List.of("caddy"));
        }
        try (DataDirLock owner = DataDirLock.owner(new DataLayout(settings.dataDir()), "scalebox serve")) {
            serve(Services.open(settings));
        }
        return 0;
    }

    /**
     * Reconciles, starts the API and blocks until the process is asked to stop; the caller holds
     * the data directory ({@link DataDirLock#owner}).
     */
    static void serve(Services services) throws InterruptedException {
        Settings settings = services.settings();
        Cluster cluster = Cluster.join(services.store(), new Cluster.Options(settings.hostName(), settings.hostUrl(),
                        settings.sshHost(), services.layout().root(), settings.hostHeartbeatInterval(), settings.hostDeadAfter(),
                        settings.clusterSecretFile().map(ClusterSecret::read)),
                services.hypervisor().qemuVersion(), services.hypervisor().cpuModel(), services.templates());
        if (cluster.forwarder().isPresent()) {
            services.storage().letBoxesMove();
        }
        Gateway gateway = null;
        ApiServer server;
        try {
            try (DataDirLock sweep = DataDirLock.sweep(services.layout())) {
                services.templates().reconcile();
                services.vms().recover();
            }
            services.vms().sampleStats();
            ApiToken token = ApiToken.resolve(settings.apiToken(), services.layout().apiToken());
            gateway = Gateway.start(new Gateway.Options(settings.gatewayBind(), settings.gatewayPort(),
                    settings.gatewayOpenSignup(), services.layout().root().resolve("gateway"), settings.boxIdleSuspend(),
                    settings.boxTemplate(), settings.boxVcpus(), settings.boxMemMib(), settings.poolMinFree(),
                    settings.poolMaxFree(), settings.poolVolumesTotal(), settings.poolInstancesMinFree(),
                    settings.poolInstancesMaxFree(), settings.poolInstancesTotal(), settings.maxBoxes(),
                    settings.poolCheckInterval(), settings.poolCooldown()),
                    services.users(), services.vms(), services.templates(), services.store().hosts(),
                    settings.clusterSecretFile().map(ClusterSecret::read).map(ClusterSecret::value));
            cluster.gatewayAt(settings.hostGateway(), gateway.hostKey());
            Gateway boxesOf = gateway;
            boxesOf.boxes().clusterTotalsFrom(cluster::boxPoolTotals);
            cluster.boxPoolFrom(boxesOf.boxes()::poolLevels);
            cluster.moves(services.vms(), services.storage().volumes()).ifPresent(moves -> {
                BoxRelocation relocation = new BoxRelocation(cluster, boxesOf.boxes(), moves, services.vms(),
                        services.storage().volumes());
                cluster.whileDrained(relocation);
                boxesOf.boxes().relocateWith(relocation);
            });
            server = ApiServer.start(settings.apiBind(), settings.apiPort(), token,
                    new ApiServer.Services(services.templates(), services.vms(), services.storage(),
                            services.hypervisor().accelerator().label(), services.users(), gateway.boxes(), cluster));
        } catch (RuntimeException e) {
            if (gateway != null) {
                gateway.close();
            }
            cluster.close();
            throw e;
        }
        Gateway started = gateway;
        ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("housekeeping").daemon(true).factory());
        housekeeping.scheduleWithFixedDelay(() -> {
            try {
                services.vms().trimConsoles();
            } catch (RuntimeException e) {
                log.warn("Could not trim the console logs: {}", e.getMessage());
            }
            services.vms().superviseNetwork();
        }, 10, 10, TimeUnit.SECONDS);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("Stopping");
            housekeeping.shutdownNow();
            started.close();
            server.close();
            cluster.close();
            services.vms().detach();
            stopped.countDown();
        }));
        log.info("Scalebox serving http://{}:{} as host {} (data in {}, store {}, token {})", settings.apiBind(),
                server.port(), cluster.self(), settings.dataDir(), services.store().description(), settings.apiToken().isPresent() ? "from API_TOKEN" : "in " + services.layout().apiToken());
        stopped.await();
    }

    /** The flags that say where the API listens. */
    static final class ListenOptions {
        @Option(names = "--port", paramLabel = "N", description = "API port (API_PORT, default 8080)")
        String port;

        @Option(names = "--bind", paramLabel = "ADDRESS", description = "API address (API_BIND, default 127.0.0.1)")
        String bind;

        Map<Setting, String> flags() {
            Map<Setting, String> flags = new EnumMap<>(Setting.class);
            if (port != null) {
                flags.put(Setting.API_PORT, port);
            }
            if (bind != null) {
                flags.put(Setting.API_BIND, bind);
            }
            return flags;
        }
    }
}
