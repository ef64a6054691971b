package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.store.HostStore;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.session.Session;
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
 * takes the session from there as it takes any user's. A session that arrived carried is carried
 * on only by a host that moved its box away for want of room, and then to where the box went, once:
 * two hosts that disagree about where a box lives cannot pass it back and forth.
 */
final class RemoteBoxes {

    /** How a session reached this gateway. */
    enum Carry {
        /** From the user. */
        NONE,
        /** From another host's gateway, which found the box here. */
        CARRIED,
        /** From the host that moved the box here for want of room: it is not carried, nor moved, on. */
        AFTER_MOVE
    }

    /** How a session another host's gateway carried here came; unset on the user's own. */
    static final AttributeKey<Carry> CARRIED = new AttributeKey<>();
    /** Appended to the user's id in the login of a session carried after its box moved. */
    private static final String AFTER_MOVE = "+moved";
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

    /** How {@code session} reached this gateway. */
    static Carry carry(Session session) {
        Carry carry = session.getAttribute(CARRIED);
        return carry == null ? Carry.NONE : carry;
    }

    /** The user id a carrying gateway logs in as: {@code username}, less what says the box moved. */
    static String userId(String username) {
        return username.endsWith(AFTER_MOVE) ? username.substring(0, username.length() - AFTER_MOVE.length()) : username;
    }

    /**
     * Whether {@code password} is the cluster secret: another host's gateway carries a session
     * here, logged in as {@code username}.
     */
    boolean admits(String username, String password, ServerSession session) {
        if (password == null || !MessageDigest.isEqual(secret, password.getBytes(StandardCharsets.UTF_8))) {
            return false;
        }
        session.setAttribute(CARRIED, username.endsWith(AFTER_MOVE) ? Carry.AFTER_MOVE : Carry.CARRIED);
        return true;
    }

    /**
     * A session, as {@code user}, to the gateway of {@code host}, where their box lives;
     * {@code afterMove} when this host has just moved the box there.
     */
    ClientSession connect(String host, User user, boolean afterMove) throws IOException {
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
        ClientSession session = client.connect(user.id() + (afterMove ? AFTER_MOVE : ""), address, port,
                        AttributeRepository.ofKeyValuePair(EXPECTED_KEY, key))
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
