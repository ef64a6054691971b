package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.storage.Names;
import dev.scalebox.storage.SshPublicKey;
import dev.scalebox.store.UserStore;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/** The users the gateway admits. A user is their key: the id is derived from the key's blob. */
public final class Users {

    private final UserStore store;

    public Users(UserStore store) {
        this.store = store;
    }

    /** The user id of a key: the first 16 hex digits of the SHA-256 of its blob (what {@code ssh-keygen -l} hashes). */
    public static String idOf(SshPublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.blob())).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Registers {@code name} with {@code publicKey}; 409 when the name or the key is registered already. */
    public User add(String name, String publicKey) {
        if (name == null) {
            throw new ScaleboxException.BadRequest("name is required");
        }
        Names.require("name", name);
        SshPublicKey key = SshPublicKey.parse(publicKey);
        UserStore.Row row = new UserStore.Row(idOf(key), name, key.toLine(), Instant.now());
        if (!store.insert(row)) {
            throw new ScaleboxException.Conflict("A user with this name or this key exists already");
        }
        return toUser(row);
    }

    public List<User> list() {
        return store.list().stream().map(Users::toUser).toList();
    }

    public User get(String idOrName) {
        return store.find(idOrName).map(Users::toUser).orElseThrow(() -> new ScaleboxException.NotFound("User not found"));
    }

    public Optional<User> find(String idOrName) {
        return store.find(idOrName).map(Users::toUser);
    }

    /** The registered user holding {@code key}, if any. */
    public Optional<User> byKey(SshPublicKey key) {
        return store.find(idOf(key)).filter(r -> Arrays.equals(SshPublicKey.parse(r.publicKey()).blob(), key.blob()))
                .map(Users::toUser);
    }

    public void remove(String idOrName) {
        store.delete(get(idOrName).id());
    }

    private static User toUser(UserStore.Row row) {
        return new User(row.id(), row.name(), SshPublicKey.parse(row.publicKey()).fingerprint(), row.publicKey(),
                row.createdAt());
    }
}
