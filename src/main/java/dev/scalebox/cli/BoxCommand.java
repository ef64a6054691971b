package dev.scalebox.cli;

import dev.scalebox.api.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code scalebox box ...}: users' boxes and the SSH gateway's users (through the API). */
@Command(name = "box", mixinStandardHelpOptions = true, description = "Boxes reached over the SSH gateway.",
        subcommands = BoxCommand.UserCommand.class)
final class BoxCommand {

    @Mixin
    CommonOptions common;

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List boxes.")
    int ls(@Option(names = "--json") boolean json) {
        Table.listing(api().get("/boxes"), json, List.of("ID", "USER", "STATUS", "VM", "DISK_GIB"),
                b -> List.of(b.get("id").asString(), b.path("user").asString("-"), b.get("status").asString(),
                        b.get("vm_id").asString(), b.get("disk_size_gib").asString()));
        return 0;
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one box.")
    int show(@Parameters(paramLabel = "BOX") String box) {
        System.out.println(Json.MAPPER.writeValueAsString(api().get(path(box))));
        return 0;
    }

    @Command(name = "suspend", mixinStandardHelpOptions = true, description = "Suspend a running box now.")
    int suspend(@Parameters(paramLabel = "BOX") String box) {
        System.out.println("Box " + box + " is " + api().post(path(box) + "/suspend", null).get("status").asString());
        return 0;
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Delete a box: its disk and saved memory, for good.")
    int rm(@Parameters(paramLabel = "BOX") String box,
           @Option(names = "--confirm", description = "Required: the box's files cannot be recovered") boolean confirm) {
        api().delete(path(box) + (confirm ? "?confirm=true" : ""));
        System.out.println("Deleted box " + box);
        return 0;
    }

    @Command(name = "pool", mixinStandardHelpOptions = true, description = "The pool of ready boxes and warm instances.")
    int pool(@Option(names = "--json") boolean json) {
        JsonNode pool = api().get("/pool");
        if (json) {
            System.out.println(Json.MAPPER.writeValueAsString(pool));
            return 0;
        }
        JsonNode volumes = pool.get("volumes");
        JsonNode instances = pool.get("instances");
        Table.print(List.of("", "NOW", "TARGET", "MIN", "MAX"), List.of(
                List.of("ready boxes", volumes.get("ready").asString(), volumes.get("target").asString(),
                        volumes.get("min_free").asString(), volumes.get("max_free").asString()),
                List.of("warm instances", instances.get("warm").asString(), instances.get("target").asString(),
                        instances.get("min_free").asString(), instances.get("max_free").asString())));
        System.out.println("boxes in use " + volumes.get("in_use").asString() + " of at most "
                + pool.get("max_boxes").asString() + ", being made " + volumes.get("making").asString()
                + ", volumes at most " + volumes.get("total").asString() + " in all; box instances running "
                + instances.get("in_all").asString() + " of at most " + instances.get("total").asString() + "; golden state "
                + pool.get("golden").asString());
        JsonNode cluster = pool.get("cluster");
        if (cluster != null && !cluster.isNull()) {
            JsonNode all = cluster.get("pool");
            System.out.println("all " + cluster.get("hosts").asString() + " hosts up: ready boxes " + all.get("ready").asString()
                    + ", warm instances " + all.get("warm").asString() + ", box instances running "
                    + all.get("instances").asString() + " of at most " + all.get("instances_total").asString() + ", volumes "
                    + all.get("volumes").asString() + " of at most " + all.get("volumes_total").asString() + " (kept by "
                    + cluster.get("kept_by").asString() + " at " + cluster.get("kept_at").asString() + ")");
        }
        return 0;
    }

    private static String path(String box) {
        return "/boxes/" + URLEncoder.encode(box, StandardCharsets.UTF_8);
    }

    private ApiClient api() {
        return ApiClient.from(common.settings());
    }

    @Command(name = "user", mixinStandardHelpOptions = true, description = "The keys the gateway admits.")
    static final class UserCommand {

        @ParentCommand
        BoxCommand box;

        @Command(name = "add", mixinStandardHelpOptions = true, description = "Register a user and their SSH key.")
        int add(@Parameters(paramLabel = "NAME") String name,
                @Option(names = "--key", required = true, paramLabel = "FILE", description = "SSH public key file") Path key,
                @Option(names = "--json") boolean json) throws IOException {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", name);
            body.put("ssh_public_key", Files.readString(key).strip());
            JsonNode user = api().post("/users", body);
            if (json) {
                System.out.println(Json.MAPPER.writeValueAsString(user));
            } else {
                System.out.println("Added " + user.get("name").asString() + " (" + user.get("id").asString() + ", "
                        + user.get("fingerprint").asString() + ")");
            }
            return 0;
        }

        @Command(name = "ls", mixinStandardHelpOptions = true, description = "List users.")
        int ls(@Option(names = "--json") boolean json) {
            Table.listing(api().get("/users"), json, List.of("ID", "NAME", "FINGERPRINT", "CREATED"),
                    u -> List.of(u.get("id").asString(), u.get("name").asString(), u.get("fingerprint").asString(),
                            u.get("created_at").asString()));
            return 0;
        }

        @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a user (their box stays).")
        int rm(@Parameters(paramLabel = "USER") String user) {
            api().delete("/users/" + URLEncoder.encode(user, StandardCharsets.UTF_8));
            System.out.println("Removed " + user);
            return 0;
        }

        private ApiClient api() {
            return box.api();
        }
    }
}
