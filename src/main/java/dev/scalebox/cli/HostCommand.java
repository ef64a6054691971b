package dev.scalebox.cli;

import dev.scalebox.api.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/** {@code scalebox host ...}: the hosts that share the store, through the API. */
@Command(name = "host", mixinStandardHelpOptions = true, description = "The hosts that share the store (through the API).")
final class HostCommand {

    @Mixin
    CommonOptions common;

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the hosts: state, load and capacity.")
    int ls(@Option(names = "--json") boolean json) {
        Table.listing(ApiClient.from(common.settings()).get("/hosts"), json,
                List.of("NAME", "STATE", "VMS", "LOAD", "CORES", "MEM_FREE", "POOL_FREE", "BOX_INSTANCES", "URL", "REASON"),
                h -> List.of(h.get("name").asString(), h.get("state").asString(), h.get("vms").asString(),
                        String.format(Locale.ROOT, "%.2f", h.get("load").asDouble()), h.get("cores").asString(),
                        mib(h.get("mem_free_mib").asLong()) + "/" + mib(h.get("mem_total_mib").asLong()),
                        bytes(h.get("pool_free_bytes").asLong()) + "/" + bytes(h.get("pool_total_bytes").asLong()),
                        instances(h.get("box_pool")), h.get("url").asString(), text(h.get("state_reason"))));
        return 0;
    }

    /** Box instances running against the total, or "-" before the host's gateway started. */
    private static String instances(JsonNode pool) {
        return pool == null || pool.isNull() ? "-"
                : pool.get("instances").asString() + "/" + pool.get("instances_total").asString();
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = "Drain a host: no new VMs are placed there until it is undrained.")
    int drain(@Parameters(paramLabel = "NAME", description = "the host") String name,
              @Option(names = "--json") boolean json) {
        return show(ApiClient.from(common.settings()).post(path(name) + "/drain", null), json);
    }

    @Command(name = "undrain", mixinStandardHelpOptions = true, description = "Let new VMs be placed on a drained host again.")
    int undrain(@Parameters(paramLabel = "NAME", description = "the host") String name,
                @Option(names = "--json") boolean json) {
        return show(ApiClient.from(common.settings()).post(path(name) + "/undrain", null), json);
    }

    private static String path(String name) {
        return "/hosts/" + URLEncoder.encode(name, StandardCharsets.UTF_8);
    }

    private static int show(JsonNode host, boolean json) {
        System.out.println(json ? Json.MAPPER.writeValueAsString(host) : host.get("name").asString() + ": " + host.get("state").asString());
        return 0;
    }

    private static String mib(long mib) {
        return bytes(mib << 20);
    }

    private static String bytes(long bytes) {
        return String.format(Locale.ROOT, "%.1fG", bytes / (double) (1L << 30));
    }

    private static String text(JsonNode node) {
        return node == null || node.isNull() ? "" : node.asString();
    }
}
