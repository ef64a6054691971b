package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.BoxMoves;
import dev.scalebox.config.HostName;
import dev.scalebox.gateway.Box;
import dev.scalebox.gateway.Boxes;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;

import java.util.Optional;

/** The {@code /boxes} endpoints: users' boxes behind the SSH gateway. */
final class BoxRoutes {

    record MoveBody(String host) {
    }

    /** A box after its move, and what the move sent: bytes on the wire against the volume's own. */
    record Moved(Box box, long bytesSent, long baseBytesSent, long diskBytes, long memoryBytes, double seconds) {
    }

    private BoxRoutes() {
    }

    /** {@code moves} is empty on a server that passes nothing to other hosts. */
    static void register(HttpRouting.Builder routing, Boxes boxes, Optional<BoxMoves> moves) {
        routing.get("/boxes", (req, res) -> ApiServer.json(res, 200, boxes.listAll()));
        routing.get("/pool", (req, res) -> ApiServer.json(res, 200, boxes.pool()));
        routing.get("/boxes/{id}", (req, res) -> ApiServer.json(res, 200, boxes.get(id(req))));
        routing.post("/boxes/{id}/suspend", (req, res) -> ApiServer.json(res, 200, boxes.suspend(id(req))));
        routing.post("/boxes/{id}/move", (req, res) -> {
            MoveBody b = VmRoutes.body(req, MoveBody.class);
            if (b.host() == null || !HostName.valid(b.host())) {
                throw new ScaleboxException.BadRequest("'host' must name a host: one lower-case DNS label");
            }
            BoxMoves mover = moves.orElseThrow(() -> new ScaleboxException.Conflict("This server moves no boxes:"
                    + " set STORE_URL and CLUSTER_SECRET_FILE on every host"));
            String id = id(req);
            BoxMoves.Moved moved = boxes.moveAway(id, vmId -> mover.move(vmId, b.host()));
            ApiServer.json(res, 200, new Moved(boxes.get(id), moved.bytesSent(), moved.baseBytesSent(),
                    moved.diskBytes(), moved.memoryBytes(), moved.seconds()));
        });
        routing.delete("/boxes/{id}", (req, res) -> {
            boxes.delete(id(req), req.query().first("confirm").map("true"::equals).orElse(false));
            res.status(Status.NO_CONTENT_204).send();
        });
    }

    private static String id(io.helidon.webserver.http.ServerRequest req) {
        return req.path().pathParameters().get("id");
    }
}
