package dev.scalebox.network;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.HostPrograms;
import dev.scalebox.host.ProcessTable;
import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Caddy in front of the VMs' web servers (see {@link CaddyConfig}). It runs detached, like
 * dnsmasq, as Debian's {@code caddy} user with only the capability to bind a low port, and is
 * adopted across restarts of Scalebox when its arguments are the same. Routes change through its
 * admin API on a Unix socket that only that user and root can reach; a change that cannot be made
 * (Caddy is down) is made by the next {@link #ensure}, which loads the whole configuration.
 */
final class Caddy {

    private static final String USER = "caddy";
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final long START_TIMEOUT_MILLIS = 30_000;
    private static final Logger log = LoggerFactory.getLogger(Caddy.class);

    private final ProgramRunner runner;
    private final HttpsConfig https;
    private final Path dir;
    private final CaddyAdmin admin;
    private volatile boolean stale = true;

    Caddy(ProgramRunner runner, HttpsConfig https, Path runDir) {
        this.runner = runner;
        this.https = https;
        this.dir = runDir.resolve("caddy");
        this.admin = new CaddyAdmin(dir.resolve("admin.sock"));
    }

    private Path pidFile() {
        return dir.resolve("caddy.pid");
    }

    /** Caddy's own command line: what {@code /proc} shows of it once {@code setpriv} has run it. */
    List<String> caddyArgv() {
        return List.of(HostPrograms.require("caddy").toString(), "run", "--config", dir.resolve("boot.json").toString(),
                "--pidfile", pidFile().toString());
    }

    private List<String> argv() {
        List<String> argv = new ArrayList<>(List.of("setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                "--reset-env", "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
                "--bounding-set=-all,+net_bind_service", "--no-new-privs", "--"));
        argv.addAll(caddyArgv());
        return argv;
    }

    /**
     * Keeps Caddy running with today's arguments and the routes of {@code guests}: a missing one
     * is started, and the whole configuration loaded when Caddy is new or a change was missed.
     */
    synchronized void ensure(Collection<Guest> guests) {
        Optional<Long> pid = running();
        if (pid.isPresent() && !ProcessTable.startedWith(pid.get(), caddyArgv())) {
            log.info("Caddy {} runs with other arguments; starting it again", pid.get());
            ProcessTable.kill(pid.get());
            pid = Optional.empty();
        }
        if (pid.isEmpty()) {
            start();
            stale = true;
        }
        if (stale) {
            admin.require("POST", "/load", json(CaddyConfig.full(https, dir.resolve("admin.sock"), guests)));
            stale = false;
            log.info("Caddy serves the VMs at https://NAME.{} on {}:{}", https.domain(), https.bind(), https.port());
        }
    }

    /**
     * Sets the route of {@code guest}, new or changed; nothing when it is the route of
     * {@code before}, the guest as it was (only its egress changed, say).
     */
    synchronized void put(Guest before, Guest guest) {
        if (before != null && CaddyConfig.route(https, before).equals(CaddyConfig.route(https, guest))) {
            return;
        }
        change(() -> {
            remove(guest.vmId());
            if (HttpsConfig.publishes(guest.name())) {
                admin.require("PUT", CaddyConfig.ROUTES + "/0", json(CaddyConfig.route(https, guest)));
            }
        });
    }

    /** Removes the route of VM {@code vmId}, if it has one. */
    synchronized void remove(String vmId) {
        change(() -> {
            try {
                CaddyAdmin.Answer answer = admin.send("DELETE", "/id/" + CaddyConfig.routeId(vmId), null);
                if (!answer.ok() && !answer.body().contains("unknown object ID")) {
                    throw new ScaleboxException.HostFailure("Caddy did not remove the route of " + vmId + ": " + answer.body());
                }
            } catch (IOException e) {
                throw new ScaleboxException.HostFailure("Caddy's admin API failed: " + e.getMessage(), e);
            }
        });
    }

    private void change(Runnable change) {
        if (stale) {
            return;  // the next ensure() loads everything
        }
        try {
            change.run();
        } catch (RuntimeException e) {
            stale = true;
            log.error("Caddy's routes could not be changed ({}); they are loaded again within a minute", e.getMessage());
        }
    }

    void stop() {
        running().ifPresent(ProcessTable::kill);
    }

    private void start() {
        try {
            ownedByCaddy(dir);
            ownedByCaddy(https.storage());
            Files.writeString(dir.resolve("boot.json"), json(CaddyConfig.boot(dir.resolve("admin.sock"))));
            Files.deleteIfExists(dir.resolve("admin.sock"));
        } catch (UserPrincipalNotFoundException e) {
            throw new ScaleboxException.HostFailure("there is no user " + USER + " to run Caddy as; Debian's caddy package"
                    + " makes it (apt-get install caddy)", e);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot prepare Caddy's directories: " + e.getMessage(), e);
        }
        Process process = runner.spawn(argv(), dir.resolveSibling("caddy.log"));
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MILLIS;
        while (System.currentTimeMillis() < deadline) {
            if (!process.isAlive()) {
                throw new ScaleboxException.HostFailure("Caddy did not start; see " + dir.resolveSibling("caddy.log"));
            }
            try {
                if (admin.send("GET", "/config/", null).ok()) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        process.destroyForcibly();
        throw new ScaleboxException.HostFailure("Caddy's admin API did not answer within 30 s; see "
                + dir.resolveSibling("caddy.log"));
    }

    /** The pid of our Caddy, when it runs. */
    Optional<Long> running() {
        return ProcessTable.pidIn(pidFile()).filter(pid -> ProcessTable.arguments(pid)
                .filter(a -> a.contains(pidFile().toString())).isPresent());
    }

    /** A directory only the caddy user (and root) may use. */
    private static void ownedByCaddy(Path directory) throws IOException {
        Files.createDirectories(directory);
        UserPrincipalLookupService users = directory.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(directory, users.lookupPrincipalByName(USER));
        Files.getFileAttributeView(directory, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .setGroup(users.lookupPrincipalByGroupName(USER));
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
    }

    private static String json(Object tree) {
        return JSON.writeValueAsString(tree);
    }
}
