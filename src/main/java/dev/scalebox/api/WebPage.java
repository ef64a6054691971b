package dev.scalebox.api;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The web console: {@code /} and its built files under {@code /assets/}, packed into the jar from
 * {@code web/}. They are open, as the sign-in form must be; everything they call is not.
 */
final class WebPage {

    /** Only the page's own scripts run; its styles may be inline (xterm.js sets some). */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
            + " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    private static final Pattern ASSET = Pattern.compile("[A-Za-z0-9_.-]{1,100}");
    private static final Map<String, String> TYPES = Map.of("js", "text/javascript", "css", "text/css",
            "html", "text/html; charset=utf-8", "svg", "image/svg+xml", "png", "image/png", "woff2", "font/woff2");

    private WebPage() {
    }

    static boolean isOpen(String path) {
        return path.equals("/") || path.startsWith("/assets/");
    }

    static void register(HttpRouting.Builder routing) {
        routing.get("/", (req, res) -> serve(res, "index.html"));
        routing.get("/assets/{name}", (req, res) -> {
            String name = req.path().pathParameters().get("name");
            if (!ASSET.matcher(name).matches() || name.startsWith(".")) {
                ApiServer.error(res, 404, "No such file: /assets/" + name);
                return;
            }
            res.header(HeaderNames.CACHE_CONTROL, "public, max-age=31536000, immutable");  // names carry their hash
            serve(res, "assets/" + name);
        });
    }

    private static void serve(ServerResponse res, String file) {
        try (InputStream in = WebPage.class.getResourceAsStream("/web/" + file)) {
            if (in == null) {
                ApiServer.error(res, 404, file.equals("index.html")
                        ? "The web console was not built into this jar; build with the web/ folder present" : "No such file: /" + file);
                return;
            }
            String extension = file.substring(file.lastIndexOf('.') + 1);
            res.header(HeaderNames.CONTENT_TYPE, TYPES.getOrDefault(extension, "application/octet-stream"));
            res.send(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
