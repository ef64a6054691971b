package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerResponse;

import java.util.Map;

/**
 * {@code /session}: the web console signs in once with the API token and is then known by an
 * HttpOnly, SameSite=Strict cookie, so its script never holds the token.
 */
final class SessionRoutes {

    private SessionRoutes() {
    }

    /** The JSON body of {@code POST /session}. */
    record SignIn(String token) {
    }

    static void register(HttpRouting.Builder routing, Access access) {
        routing.post("/session", (req, res) -> {
            SignIn body = VmRoutes.body(req, SignIn.class);
            if (body.token() == null || body.token().isBlank()) {
                throw new ScaleboxException.BadRequest("'token' is required: the API token");
            }
            if (!access.token().accepts("Bearer " + body.token())) {
                ApiServer.error(res, 401, "Wrong API token; nothing was signed in");
                return;
            }
            String id = access.sessions().open();
            cookie(res, id, WebSessions.LIFETIME.toSeconds());
            res.status(Status.NO_CONTENT_204).send();
        });
        routing.get("/session", (req, res) -> access.sessions().expiry(Access.sessionId(req.headers()).orElse(null))
                .ifPresentOrElse(expires -> ApiServer.json(res, 200, Map.of("expires_at", expires.toString())),
                        () -> ApiServer.error(res, 401, "Not signed in")));
        routing.delete("/session", (req, res) -> {
            Access.sessionId(req.headers()).ifPresent(access.sessions()::close);
            cookie(res, "", 0);
            res.status(Status.NO_CONTENT_204).send();
        });
    }

    private static void cookie(ServerResponse res, String value, long maxAgeSeconds) {
        res.header(HeaderNames.SET_COOKIE, Access.COOKIE + "=" + value + "; Path=/; Max-Age=" + maxAgeSeconds
                + "; HttpOnly; SameSite=Strict");
    }
}
