package dev.scalebox.api;

import dev.scalebox.gateway.User;
import dev.scalebox.gateway.Users;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;

/** The {@code /users} endpoints: the keys the SSH gateway admits. */
final class UserRoutes {

    private UserRoutes() {
    }

    /** The JSON body of {@code POST /users}. */
    record AddBody(String name, String sshPublicKey) {
    }

    static void register(HttpRouting.Builder routing, Users users) {
        routing.post("/users", (req, res) -> {
            AddBody b = VmRoutes.body(req, AddBody.class);
            User user = users.add(b.name(), b.sshPublicKey());
            res.header(HeaderNames.LOCATION, "/users/" + user.id());
            ApiServer.json(res, 201, user);
        });
        routing.get("/users", (req, res) -> ApiServer.json(res, 200, users.list()));
        routing.get("/users/{id}", (req, res) -> ApiServer.json(res, 200, users.get(req.path().pathParameters().get("id"))));
        routing.delete("/users/{id}", (req, res) -> {
            users.remove(req.path().pathParameters().get("id"));
            res.status(Status.NO_CONTENT_204).send();
        });
    }
}
