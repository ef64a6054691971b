package dev.scalebox.network;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Caddy's configuration, as its JSON: one server on the HTTPS port with a route per published
 * VM (matched by host, proxied to the VM's address and web port), a last route that answers 404
 * for any other name, and error handling that sends a request whose VM did not answer to the
 * wake endpoint. The internal CA issues a wildcard certificate for the domain, so every name under
 * it completes TLS, a deleted VM's too (and gets the 404). Under ACME each VM's name gets its own.
 */
final class CaddyConfig {

    static final String SERVER = "scalebox";
    static final String ROUTES = "/config/apps/http/servers/" + SERVER + "/routes";
    /** A VM that does not take a connection in this time is taken to be down (suspended, say). */
    private static final String DIAL_TIMEOUT = "2s";

    private CaddyConfig() {
    }

    /** What Caddy starts with: its admin endpoint on a Unix socket, and nothing saved to disk. */
    static Map<String, Object> boot(Path adminSocket) {
        return Map.of("admin", Map.of("listen", "unix/" + adminSocket, "config", Map.of("persist", false)));
    }

    /** The whole configuration, with a route for each of {@code guests} that has an address. */
    static Map<String, Object> full(HttpsConfig https, Path adminSocket, Collection<Guest> guests) {
        List<Object> routes = new ArrayList<>();
        guests.stream().filter(g -> HttpsConfig.publishes(g.name())).forEach(g -> routes.add(route(https, g)));
        routes.add(Map.of("@id", "unknown-name", "handle", List.of(Map.of("handler", "static_response",
                "status_code", 404, "body", "No VM is published at this address.\n"))));
        Map<String, Object> server = new LinkedHashMap<>();
        server.put("listen", List.of(listenAddress(https)));
        server.put("routes", routes);
        server.put("automatic_https", Map.of("disable_redirects", true));
        // TLS always, also when no VM is published: Caddy would otherwise serve plain HTTP on this port.
        server.put("tls_connection_policies", List.of(Map.of()));
        Map<String, Object> wake = Map.of("handler", "reverse_proxy", "upstreams", List.of(Map.of("dial", https.wakeUpstream())),
                "headers", Map.of("request", Map.of("set", Map.of("X-Scalebox-Upstream-Error", List.of("{http.error.status_code}")))));
        server.put("errors", Map.of("routes", List.of(Map.of("handle", List.of(
                Map.of("handler", "rewrite", "uri", "/wake"), wake)))));
        Map<String, Object> apps = new LinkedHashMap<>();
        apps.put("http", Map.of("servers", Map.of(SERVER, server)));
        apps.put("tls", tls(https));
        apps.put("pki", Map.of("certificate_authorities", Map.of("local", Map.of("install_trust", false))));
        Map<String, Object> config = new LinkedHashMap<>(boot(adminSocket));
        config.put("storage", Map.of("module", "file_system", "root", https.storage().toString()));
        config.put("apps", apps);
        return config;
    }

    /** The route of one VM: its name under the domain, proxied to its address and web port. */
    static Map<String, Object> route(HttpsConfig https, Guest guest) {
        return Map.of("@id", routeId(guest.vmId()), "terminal", true,
                "match", List.of(Map.of("host", List.of(https.host(guest.name())))),
                "handle", List.of(Map.of("handler", "reverse_proxy",
                        "transport", Map.of("protocol", "http", "dial_timeout", DIAL_TIMEOUT),
                        "upstreams", List.of(Map.of("dial", guest.ip() + ":" + guest.httpPort())))));
    }

    static String routeId(String vmId) {
        return "vm-route-" + vmId;
    }

    private static Map<String, Object> tls(HttpsConfig https) {
        if (https.acmeEmail() != null) {
            return Map.of("automation", Map.of("policies", List.of(Map.of("issuers",
                    List.of(Map.of("module", "acme", "email", https.acmeEmail()))))));
        }
        return Map.of("certificates", Map.of("automate", List.of("*." + https.domain())),
                "automation", Map.of("policies", List.of(Map.of("issuers", List.of(Map.of("module", "internal"))))));
    }

    private static String listenAddress(HttpsConfig https) {
        String bind = https.bind().contains(":") ? "[" + https.bind() + "]" : https.bind();
        return (bind.equals("0.0.0.0") || bind.equals("[::]") ? "" : bind) + ":" + https.port();
    }
}
