package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.Cluster;
import io.helidon.webserver.http.HttpRouting;

/** The {@code /hosts} endpoints: the hosts that share the store, as their heartbeats left them. */
final class HostRoutes {

    private HostRoutes() {
    }

    static void register(HttpRouting.Builder routing, Cluster cluster) {
        routing.get("/hosts", (req, res) -> ApiServer.json(res, 200, cluster.hosts()));
        routing.get("/hosts/{name}", (req, res) -> {
            String name = req.path().pathParameters().get("name");
            ApiServer.json(res, 200, cluster.hosts().stream().filter(h -> h.name().equals(name)).findFirst()
                    .orElseThrow(() -> new ScaleboxException.NotFound("No host named '" + name + "'")));
        });
        routing.post("/hosts/{name}/drain", (req, res) ->
                ApiServer.json(res, 200, cluster.drain(req.path().pathParameters().get("name"), true)));
        routing.post("/hosts/{name}/undrain", (req, res) ->
                ApiServer.json(res, 200, cluster.drain(req.path().pathParameters().get("name"), false)));
    }
}
