package dev.scalebox.api;

import dev.scalebox.gateway.Boxes;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;

/** The {@code /boxes} endpoints: users' boxes behind the SSH gateway. */
final class BoxRoutes {

    private BoxRoutes() {
    }

    static void register(HttpRouting.Builder routing, Boxes boxes) {
        routing.get("/boxes", (req, res) -> ApiServer.json(res, 200, boxes.list()));
        routing.get("/pool", (req, res) -> ApiServer.json(res, 200, boxes.pool()));
        routing.get("/boxes/{id}", (req, res) -> ApiServer.json(res, 200, boxes.get(id(req))));
        routing.post("/boxes/{id}/suspend", (req, res) -> ApiServer.json(res, 200, boxes.suspend(id(req))));
        routing.delete("/boxes/{id}", (req, res) -> {
            boxes.delete(id(req), req.query().first("confirm").map("true"::equals).orElse(false));
            res.status(Status.NO_CONTENT_204).send();
        });
    }

    private static String id(io.helidon.webserver.http.ServerRequest req) {
        return req.path().pathParameters().get("id");
    }
}
