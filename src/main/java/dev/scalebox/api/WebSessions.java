package dev.scalebox.api;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * The web console's sign-ins: a random session id for the cookie, of which only the SHA-256 is
 * kept, in memory, so a restart signs everyone out. A session lasts {@link #LIFETIME}; at most
 * {@link #MAX_SESSIONS} live at once, the oldest going first.
 */
final class WebSessions {

    static final Duration LIFETIME = Duration.ofHours(12);
    static final int MAX_SESSIONS = 1000;

    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    /** SHA-256 of the session id, in hex, to when it expires. */
    private final Map<String, Instant> expiries = new HashMap<>();

    WebSessions(Clock clock) {
        this.clock = clock;
    }

    /** A new session; the id goes in the cookie and nowhere else. */
    synchronized String open() {
        dropExpired();
        if (expiries.size() >= MAX_SESSIONS) {
            expiries.entrySet().stream().min(Map.Entry.comparingByValue())
                    .ifPresent(oldest -> expiries.remove(oldest.getKey()));
        }
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        expiries.put(digest(id), clock.instant().plus(LIFETIME));
        return id;
    }

    /** When the session {@code id} expires, if it is live. */
    synchronized Optional<Instant> expiry(String id) {
        if (id == null) {
            return Optional.empty();
        }
        String key = digest(id);
        Instant expires = expiries.get(key);
        if (expires != null && !expires.isAfter(clock.instant())) {
            expiries.remove(key);
            return Optional.empty();
        }
        return Optional.ofNullable(expires);
    }

    synchronized void close(String id) {
        if (id != null) {
            expiries.remove(digest(id));
        }
    }

    synchronized int size() {
        return expiries.size();
    }

    private void dropExpired() {
        Instant now = clock.instant();
        expiries.values().removeIf(expires -> !expires.isAfter(now));
    }

    private static String digest(String id) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(id.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
