package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.Cluster;
import dev.scalebox.cluster.Forwarder;
import dev.scalebox.gateway.Boxes;
import dev.scalebox.gateway.Users;
import dev.scalebox.storage.StorageService;
import dev.scalebox.template.TemplateService;
import dev.scalebox.vm.VmService;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.websocket.WsRouting;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

/**
 * The HTTP API and the web console. {@code GET /health}, {@code GET /openapi.yaml}, the page and
 * signing in are open; every other route needs {@code Authorization: Bearer TOKEN} or the web
 * console's session cookie, and a browser's request that changes state must come from the page's
 * own origin. Every response carries a Content-Security-Policy that lets only the page's own
 * scripts run. Domain errors become {@code {"error": "..."}} with
 * the status they carry; anything else is logged and answered with a bare 500, never a trace.
 *
 * <p>Lifecycle: {@link #start} returns a running server or throws having started nothing;
 * {@link #close} stops it.
 */
public final class ApiServer implements AutoCloseable {

    /**
     * Bodies over this size are refused with 413 before they are read, but for the streams hosts
     * send each other under {@code /cluster/} (templates, box volumes), which have no bound.
     */
    public static final long MAX_BODY_BYTES = 64 * 1024;
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);

    private final WebServer server;

    private ApiServer(WebServer server) {
        this.server = server;
    }

    /** The services the API serves; {@code vms} may be null for a templates-only server, {@code cluster} when not serving hosts. */
    public record Services(TemplateService templates, VmService vms, StorageService storage, String accelerator,
                           Users users, Boxes boxes, Cluster cluster) {
        public Services(TemplateService templates, VmService vms, StorageService storage, String accelerator, Users users,
                        Boxes boxes) {
            this(templates, vms, storage, accelerator, users, boxes, null);
        }
    }

    public static ApiServer start(String host, int port, ApiToken token, Services services) {
        HelidonLogging.install();
        Access access = new Access(token, new WebSessions(java.time.Clock.systemUTC()),
                Optional.ofNullable(services.cluster()).flatMap(Cluster::forwarder));
        var builder = WebServer.builder()
                .host(host)
                .port(port)
                .addConnectionSelector(new Http10Health())
                .routing(routing -> routes(routing, access, services));
        if (services.vms() != null) {
            Optional<Forwarder> relays = Optional.ofNullable(services.cluster()).flatMap(Cluster::forwarder);
            builder.addRouting(WsRouting.builder().endpoint(ConsoleSocket.PATH,
                    () -> new ConsoleSocket(services.vms(), access, relays)));
        }
        WebServer server = builder.build();
        server.start();
        return new ApiServer(server);
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.stop();
    }

    private static void routes(HttpRouting.Builder routing, Access access, Services services) {
        routing.addFilter((chain, req, res) -> {
            res.header(HeaderNames.create("Content-Security-Policy"), WebPage.CONTENT_SECURITY_POLICY);
            res.header(HeaderNames.X_CONTENT_TYPE_OPTIONS, "nosniff");
            res.header(HeaderNames.create("Referrer-Policy"), "same-origin");
            String path = req.path().path();
            Method method = req.prologue().method();
            // A wake-up is a VM's own visitor's request that Caddy passes on, with that site's Origin.
            boolean changes = (!(method == Method.GET || method == Method.HEAD) || path.endsWith("/console/ws"))
                    && !path.equals(WakeRoute.PATH);
            Optional<String> foreign = changes ? Access.foreignOrigin(req.headers()) : Optional.empty();
            if (req.headers().contentLength().orElse(0) > MAX_BODY_BYTES && !path.startsWith("/cluster/")) {
                error(res, 413, "The request body is over " + MAX_BODY_BYTES / 1024 + " KiB");
            } else if (foreign.isPresent()) {
                error(res, 403, foreign.get());
            } else if (isOpen(method, path) || access.allows(req.headers())) {
                chain.proceed();
            } else {
                error(res, 401, "Missing or invalid API token: send 'Authorization: Bearer TOKEN', or sign in to the web console");
            }
        });
        if (services.cluster() != null && services.vms() != null) {
            VmForwarding.register(routing, services.vms(), services.boxes(), services.cluster(), access);
        }
        WebPage.register(routing);
        SessionRoutes.register(routing, access);
        routing.get("/health", (req, res) -> json(res, 200, Map.of("status", "ok")))
                .get("/openapi.yaml", ApiServer::openApi)
                .get("/info", (req, res) -> json(res, 200, InfoView.of(services)))
                .get("/templates", (req, res) -> json(res, 200,
                        services.templates().list().stream().map(t -> TemplateView.of(t, services.vms())).toList()))
                .delete("/templates/{name}", (req, res) -> {
                    services.templates().remove(req.path().pathParameters().get("name"));
                    res.status(Status.NO_CONTENT_204).send();
                });
        if (services.vms() != null) {
            Metrics metrics = new Metrics(services.vms(), services.storage(), services.boxes());
            routing.get("/metrics", (req, res) -> {
                res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                res.send(metrics.scrape());
            });
            VmRoutes.register(routing, services.vms(), metrics,
                    new VmPlacement(services.cluster(), access, services.vms().limits()));
            ConsoleSocket.register(routing, services.vms());
            EventStream events = new EventStream();
            services.vms().onEvents(events);
            if (services.boxes() != null) {
                services.boxes().onEvents(events);
            }
            routing.get("/events", events::serve);
            services.vms().https().ifPresent(https -> WakeRoute.register(routing, services.vms(), https));
        }
        if (services.users() != null) {
            UserRoutes.register(routing, services.users());
        }
        if (services.cluster() != null) {
            HostRoutes.register(routing, services.cluster());
            ClusterRoutes.register(routing, services.cluster(), services.templates(), services.vms(),
                    services.storage().volumes(), access);
        }
        if (services.boxes() != null) {
            BoxRoutes.register(routing, services.boxes(), services.cluster() == null ? Optional.empty()
                    : services.cluster().moves(services.vms(), services.storage().volumes()));
        }
        routing
                .error(ScaleboxException.class, (req, res, e) -> error(res, e.status(), e.getMessage()))
                .error(Exception.class, (req, res, e) -> {
                    log.error("{} {} failed", req.prologue().method(), req.path().path(), e);
                    error(res, 500, "Internal error; see the Scalebox log");
                })
                .any((req, res) -> error(res, 404, "No such endpoint: " + req.prologue().method().text() + " "
                        + req.path().path()));
    }

    /** What needs no token or session: the page itself, signing in or out, health, the API's description, and Caddy's wake-ups. */
    private static boolean isOpen(Method method, String path) {
        return path.equals("/health") || path.equals("/openapi.yaml") || path.equals(WakeRoute.PATH)
                || (method == Method.GET && WebPage.isOpen(path))
                || (path.equals("/session") && method != Method.GET);
    }

    private static void openApi(ServerRequest req, ServerResponse res) {
        try (InputStream in = ApiServer.class.getResourceAsStream("/openapi.yaml")) {
            res.header(HeaderNames.CONTENT_TYPE, "application/yaml");
            res.send(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void json(ServerResponse res, int status, Object body) {
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.MAPPER.writeValueAsBytes(body));
    }

    static void error(ServerResponse res, int status, String message) {
        json(res, status, Map.of("error", message));
    }
}
