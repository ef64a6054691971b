package dev.scalebox.cli;

import dev.scalebox.api.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code scalebox box ...}: the SSH gateway's users (through the API). */
@Command(name = "box", mixinStandardHelpOptions = true, description = "Boxes reached over the SSH gateway.",
        subcommands = BoxCommand.UserCommand.class)
final class BoxCommand {

    @Command(name = "user", mixinStandardHelpOptions = true, description = "The keys the gateway admits.")
    static final class UserCommand {

        @Mixin
        CommonOptions common;

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
            JsonNode users = api().get("/users");
            if (json) {
                System.out.println(Json.MAPPER.writeValueAsString(users));
                return 0;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode u : users) {
                rows.add(List.of(u.get("id").asString(), u.get("name").asString(), u.get("fingerprint").asString(),
                        u.get("created_at").asString()));
            }
            Table.print(List.of("ID", "NAME", "FINGERPRINT", "CREATED"), rows);
            return 0;
        }

        @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a user (their box stays).")
        int rm(@Parameters(paramLabel = "USER") String user) {
            api().delete("/users/" + URLEncoder.encode(user, StandardCharsets.UTF_8));
            System.out.println("Removed " + user);
            return 0;
        }

        private ApiClient api() {
            return ApiClient.from(common.settings());
        }
    }
}
