package dev.scalebox.api;

import dev.scalebox.cluster.ClusterSecret;
import dev.scalebox.cluster.Forwarder;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;

import java.net.URI;
import java.util.Optional;

/**
 * Who may call the API: a caller with the bearer token, a browser with a live session cookie, or
 * another host of the store with the cluster secret (see {@link ClusterSecret}).
 * A browser also sends {@code Origin} on requests that change state and on WebSocket upgrades;
 * one from another site is refused, so a page elsewhere cannot act through a signed-in browser.
 */
final class Access {

    static final String COOKIE = "scalebox_session";
    private static final io.helidon.http.HeaderName SECRET = HeaderNames.create(ClusterSecret.HEADER);

    private final ApiToken token;
    private final WebSessions sessions;
    private final Optional<Forwarder> hosts;

    Access(ApiToken token, WebSessions sessions, Optional<Forwarder> hosts) {
        this.token = token;
        this.sessions = sessions;
        this.hosts = hosts;
    }

    WebSessions sessions() {
        return sessions;
    }

    ApiToken token() {
        return token;
    }

    boolean allows(Headers headers) {
        return token.accepts(headers.first(HeaderNames.AUTHORIZATION).orElse(null))
                || sessions.expiry(sessionId(headers).orElse(null)).isPresent()
                || passedOn(headers);
    }

    /** Whether the request was passed on by another host of the store. */
    boolean passedOn(Headers headers) {
        return hosts.isPresent() && hosts.get().passedOn(headers.first(SECRET).orElse(null));
    }

    /** The session id in the request's cookie, if it has one. */
    static Optional<String> sessionId(Headers headers) {
        for (String header : headers.all(HeaderNames.COOKIE, java.util.List::of)) {
            for (String pair : header.split(";")) {
                String[] kv = pair.strip().split("=", 2);
                if (kv.length == 2 && kv[0].equals(COOKIE) && !kv[1].isEmpty()) {
                    return Optional.of(kv[1]);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Why the request's {@code Origin} is not this server's own, if it is not. No {@code Origin}
     * at all is a caller that is not a browser (curl, the CLI), which the token or cookie decides.
     */
    static Optional<String> foreignOrigin(Headers headers) {
        Optional<String> origin = headers.first(HeaderNames.ORIGIN);
        if (origin.isEmpty()) {
            return Optional.empty();
        }
        String host = headers.first(HeaderNames.HOST).orElse("");
        try {
            URI uri = new URI(origin.get());
            String authority = uri.getRawAuthority();
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && authority != null
                    && authority.equalsIgnoreCase(host)) {
                return Optional.empty();
            }
        } catch (java.net.URISyntaxException e) {
            // not a URL: foreign
        }
        return Optional.of("Cross-origin request refused: Origin " + origin.get() + " is not this server (" + host + ")");
    }
}
