package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.server.session.ServerSession;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Optional;

/**
 * Sessions for boxes that live on another host of the store, carried to that host's gateway: this
 * gateway logs in there as the user (named by their id) with the cluster secret as its password,
 * and only to the gateway whose host key that host published in the store. The other gateway
 * takes the session from there as it takes any user's. A session that arrived carried is never
 * carried on again, so two hosts that disagree about where a box lives cannot pass it back and forth.
 */
final class RemoteBoxes {

    /** Set on a session another host's gateway carried here. */
    static final AttributeKey<Boolean> CARRIED = new AttributeKey<>();
    private static final AttributeKey<PublicKey> EXPECTED_KEY = new AttributeKey<>();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final SshClient client;
    private final HostStore hosts;
    private final byte[] secret;

    RemoteBoxes(SshClient client, HostStore hosts, String secret) {
        this.client = client;
        this.hosts = hosts;
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
    }

    /** The host key a session to another host's gateway must meet; empty for a session to a box. */
    static Optional<PublicKey> expectedKey(ClientSession session) {
        AttributeRepository context = session.getConnectionContext();
        return Optional.ofNullable(context == null ? null : context.getAttribute(EXPECTED_KEY));
    }

    /** Whether {@code password} is the cluster secret: another host's gateway carries a session here. */
    boolean admits(String password, ServerSession session) {
        if (password == null || !MessageDigest.isEqual(secret, password.getBytes(StandardCharsets.UTF_8))) {
            return false;
        }
        session.setAttribute(CARRIED, true);
        return true;
    }

    /** A session, as {@code user}, to the gateway of {@code host}, where their box lives. */
    ClientSession connect(String host, User user) throws IOException {
        HostStore.Row row = hosts.find(host).orElseThrow(() -> new ScaleboxException.Unavailable(
                "your box is on host " + host + ", which is not known to the store"));
        if (row.state().equals("down")) {
            throw new ScaleboxException.Unavailable("your box is on host " + host + ", which is down (" + row.stateReason()
                    + "); it waits there until the host is back");
        }
        if (row.gateway() == null || row.gatewayHostKey() == null) {
            throw new ScaleboxException.Unavailable("your box is on host " + host + ", whose SSH gateway has not started");
        }
        PublicKey key;
        try {
            key = PublicKeyEntry.parsePublicKeyEntry(row.gatewayHostKey()).resolvePublicKey(null, null, null);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new ScaleboxException.HostFailure("host " + host + " published a gateway host key that cannot be read");
        }
        int colon = row.gateway().lastIndexOf(':');
        String address = row.gateway().substring(0, colon).replaceAll("^\\[|\\]$", "");
        int port = Integer.parseInt(row.gateway().substring(colon + 1));
        ClientSession session = client.connect(user.id(), address, port, AttributeRepository.ofKeyValuePair(EXPECTED_KEY, key))
                .verify(TIMEOUT).getClientSession();
        try {
            session.addPasswordIdentity(new String(secret, StandardCharsets.UTF_8));
            session.auth().verify(TIMEOUT);
            return session;
        } catch (IOException | RuntimeException e) {
            session.close(true);
            throw e;
        }
    }

    static boolean sameKey(PublicKey expected, PublicKey offered) {
        return KeyUtils.compareKeys(expected, offered);
    }
}
