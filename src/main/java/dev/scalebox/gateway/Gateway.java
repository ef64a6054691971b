package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;
import dev.scalebox.storage.SshPublicKey;
import dev.scalebox.template.TemplateCatalog;
import dev.scalebox.vm.VmService;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.channel.ChannelSessionFactory;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.subsystem.SubsystemFactory;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The SSH gateway: users log in with their own key (public-key authentication only) and land in
 * their own box. The gateway's host key and its internal key for reaching boxes are kept under
 * {@code DATA_DIR/gateway/}, so clients see the same host key across restarts.
 *
 * <p>Lifecycle: {@link #start} returns a listening gateway or throws having started nothing;
 * {@link #close} stops it, leaving the boxes as they are.
 */
public final class Gateway implements AutoCloseable {

    static final AttributeKey<User> USER = new AttributeKey<>();
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final SshServer server;
    private final SshClient client;
    private final Sessions sessions;
    private final Boxes boxes;
    private final VolumePool pool;

    private Gateway(SshServer server, SshClient client, Sessions sessions, Boxes boxes, VolumePool pool) {
        this.server = server;
        this.client = client;
        this.sessions = sessions;
        this.boxes = boxes;
        this.pool = pool;
    }

    /** The users' boxes, for the API. */
    public Boxes boxes() {
        return boxes;
    }

    /** Where the gateway listens, who it admits, and what boxes are made of. */
    public record Options(String bind, int port, boolean openSignup, Path keyDir, Duration idleSuspend,
                          String boxTemplate, int boxVcpus, int boxMemMib, int minFree, int maxFree, int volumesTotal,
                          int instancesMinFree, int instancesMaxFree, int instancesTotal, int maxBoxes, Duration poolInterval,
                          Duration poolCooldown) {
    }

    public static Gateway start(Options options, Users users, VmService vms, TemplateCatalog templates) {
        return start(options, users, vms, templates, null, Optional.empty());
    }

    /**
     * With {@code clusterSecret}, sessions for boxes that live on other hosts of the store are
     * carried to those hosts' gateways (found in {@code hosts}), and theirs are taken here.
     */
    public static Gateway start(Options options, Users users, VmService vms, TemplateCatalog templates, HostStore hosts,
                                Optional<String> clusterSecret) {
        KeyPair internalKey = loadKey(options.keyDir().resolve("box_key"));
        String internalKeyLine = PublicKeyEntry.toString(internalKey.getPublic()) + " scalebox-gateway";
        SshClient client = SshClient.setUpDefaultClient();
        // The box encrypts under TCG, where chacha20-poly1305 runs about 25% faster than AES.
        client.setCipherFactories(List.of(BuiltinCiphers.cc20p1305_openssh, BuiltinCiphers.aes128gcm,
                BuiltinCiphers.aes256gcm, BuiltinCiphers.aes128ctr, BuiltinCiphers.aes256ctr));
        // Boxes are reached on this host, on ports Scalebox forwards; their host keys are made on
        // their first boot, so there is nothing to pin them against yet.
        String boxHost = vms.localSshHost();
        // Another host's gateway is pinned to the host key it published in the store.
        client.setServerKeyVerifier((session, address, key) -> RemoteBoxes.expectedKey(session)
                .map(expected -> RemoteBoxes.sameKey(expected, key))
                .orElseGet(() -> address instanceof InetSocketAddress a
                        && (a.getAddress().isLoopbackAddress() || a.getHostString().equals(boxHost)
                        || a.getAddress().getHostAddress().equals(boxHost))));
        RemoteBoxes remote = clusterSecret.map(secret -> new RemoteBoxes(client, hosts, secret)).orElse(null);
        BoxSpec spec = new BoxSpec(options.boxTemplate(), options.boxVcpus(), options.boxMemMib());
        BoxGuest guest = new BoxGuest(client, internalKey, boxHost, options.keyDir().resolve("tmp"));
        VolumePool pool = new VolumePool(vms, spec, new Golden(vms, templates, spec, internalKeyLine, guest), guest,
                new VolumePool.Settings(options.minFree(), options.maxFree(), options.volumesTotal(), options.instancesMinFree(),
                        options.instancesMaxFree(), options.instancesTotal(), options.maxBoxes(), options.poolInterval(),
                        options.poolCooldown()));
        Boxes boxes = new Boxes(vms, users, spec, internalKeyLine, guest, pool, remote);
        Sessions sessions = new Sessions(boxes, options.idleSuspend());
        boxes.whenFull(sessions::suspendLongestIdle);
        SshServer server = SshServer.setUpDefaultServer();
        server.setHost(options.bind());
        server.setPort(options.port());
        server.setKeyPairProvider(hostKeyProvider(options.keyDir().resolve("host_key")));
        server.setPasswordAuthenticator(remote == null ? null : (username, password, session) -> {
            String id = RemoteBoxes.userId(username);
            Optional<User> user = users.find(id).filter(u -> u.id().equals(id));
            if (user.isEmpty() || !remote.admits(username, password, session)) {
                return false;
            }
            session.setAttribute(USER, user.get());
            return true;
        });
        server.setKeyboardInteractiveAuthenticator(null);
        AuthThrottle throttle = new AuthThrottle();
        server.setPublickeyAuthenticator((username, key, session) -> admit(key, session, users, options, throttle, boxes));
        server.setShellFactory(channel -> new BoxCommand(new BoxCommand.Target.Shell(), boxes, sessions));
        server.setCommandFactory((channel, command) ->
                new BoxCommand(new BoxCommand.Target.Exec(command), boxes, sessions));
        server.setSubsystemFactories(List.of(new SubsystemFactory() {
            @Override
            public String getName() {
                return "sftp";
            }

            @Override
            public Command createSubsystem(ChannelSession channel) {
                return new BoxCommand(new BoxCommand.Target.Subsystem("sftp"), boxes, sessions);
            }
        }));
        // -L reaches the user's own box through BoxForward; everything else that forwards (-R,
        // agent, X11) would reach the gateway's own host and network: refused.
        server.setChannelFactories(List.of(ChannelSessionFactory.INSTANCE,
                BoxForward.factory(new BoxConnections(boxes, sessions))));
        server.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
        try {
            client.start();
            server.start();
        } catch (IOException | RuntimeException e) {
            client.stop();
            sessions.close();
            throw new ScaleboxException.HostFailure("the SSH gateway cannot listen on " + options.bind() + ":"
                    + options.port() + ": " + e.getMessage(), e);
        }
        log.info("SSH gateway listening on {}:{} ({} signup)", options.bind(), server.getPort(),
                options.openSignup() ? "open" : "registered");
        pool.start();
        boxes.list().stream().filter(b -> b.status().equals("running"))
                .forEach(b -> users.find(b.id()).ifPresent(sessions::idleFromNow));
        return new Gateway(server, client, sessions, boxes, pool);
    }

    public int port() {
        return server.getPort();
    }

    /** The gateway's public host key, as an OpenSSH line. */
    public String hostKey() {
        try {
            return PublicKeyEntry.toString(server.getKeyPairProvider().loadKeys(null).iterator().next().getPublic());
        } catch (IOException | GeneralSecurityException e) {
            throw new ScaleboxException.HostFailure("cannot read the gateway's host key: " + e.getMessage(), e);
        }
    }

    private static boolean admit(PublicKey key, ServerSession session, Users users, Options options, AuthThrottle throttle,
                                 Boxes boxes) {
        InetAddress source = session.getClientAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
        if (source != null && !throttle.allows(source)) {
            return false;
        }
        Optional<User> user;
        try {
            SshPublicKey presented = SshPublicKey.parse(PublicKeyEntry.toString(key));
            user = users.byKey(presented);
            if (user.isEmpty() && options.openSignup() && users.list().size() < options.maxBoxes()) {
                String id = Users.idOf(presented);
                user = Optional.of(users.add("user-" + id, presented.toLine()));
            }
        } catch (ScaleboxException e) {
            user = Optional.empty();
        }
        if (user.isEmpty()) {
            boxes.events().connected("refused");
            if (source != null) {
                throttle.failed(source);
            }
            return false;
        }
        session.setAttribute(USER, user.get());
        return true;
    }

    private static KeyPairProvider hostKeyProvider(Path file) {
        createParent(file);
        SimpleGeneratorHostKeyProvider provider = new SimpleGeneratorHostKeyProvider(file);
        provider.setAlgorithm("EC");
        provider.setKeySize(256);
        return provider;
    }

    private static KeyPair loadKey(Path file) {
        try {
            return ((SimpleGeneratorHostKeyProvider) hostKeyProvider(file)).loadKeys(null).iterator().next();
        } catch (Exception e) {
            throw new ScaleboxException.HostFailure("cannot load the gateway's key " + file + ": " + e.getMessage(), e);
        }
    }

    private static void createParent(Path file) {
        try {
            Files.createDirectories(file.getParent());
            Files.setPosixFilePermissions(file.getParent(), PosixFilePermissions.fromString("rwx------"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            server.stop(true);
        } catch (IOException e) {
            log.warn("SSH gateway did not stop cleanly: {}", e.getMessage());
        }
        pool.close();
        client.stop();
        sessions.close();
    }
}
