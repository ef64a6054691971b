package dev.scalebox.bench;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.api.Json;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import tools.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The web console in headless chromium (web/test/*.mjs, playwright-core): page load to an
 * interactive list of 50 VMs, and a keystroke's echo through the console's WebSocket against
 * polling {@code GET /vms/{id}/console}, on one running guest. Run by bench/web-console.sh.
 */
public final class WebConsoleBench {

    private static final String TOKEN = "web-console-bench-token-0123";

    public static void main(String[] args) throws Exception {
        int listed = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        int samples = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        TestVms env = new TestVms("web-bench", 32001);
        VmService vms = env.service();
        List<String> ids = new ArrayList<>();
        try (ApiServer api = ApiServer.start("127.0.0.1", 0, ApiToken.resolve(Optional.of(TOKEN), Path.of("/nonexistent")),
                new ApiServer.Services(env.templates, vms, env.storage, "bench", null, null))) {
            String url = "http://127.0.0.1:" + api.port();
            Vm echo = vms.create(new CreateVm("debian-base", env.publicKey, "echo", 1, 512, null, null));
            ids.add(echo.id());
            // Made while the first one boots, they wait in the line of starts, and a stop takes them out
            // of it: only their records are wanted. The few let in meanwhile stop in parallel.
            List<String> listedIds = new ArrayList<>();
            for (int i = 1; i < listed; i++) {
                listedIds.add(vms.create(new CreateVm("debian-base", env.publicKey, "listed-" + i, 1, 256, null, null)).id());
            }
            ids.addAll(listedIds);
            try (var stops = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                listedIds.forEach(id -> stops.submit(() -> vms.stop(id)));
            }
            Waits.status(vms, echo.id(), VmStatus.RUNNING, Waits.START);
            JsonNode load = node("web/test/page-load.mjs", Map.of("SCALEBOX_URL", url, "SCALEBOX_TOKEN", TOKEN, "RUNS", "10"));
            JsonNode keys = node("web/test/echo.mjs", Map.of("SCALEBOX_URL", url, "SCALEBOX_TOKEN", TOKEN,
                    "VM_ID", echo.id(), "SAMPLES", Integer.toString(samples)));
            System.out.printf("%nPage load to an interactive list of %d VMs, headless chromium, %d fresh sessions%n",
                    load.get("rows").asInt(), load.get("runs").asInt());
            System.out.printf("%-10s %10s%n", "p50 ms", "p95 ms");
            System.out.printf("%-10.0f %10.0f%n", load.get("p50_ms").asDouble(), load.get("p95_ms").asDouble());
            System.out.printf("%nA keystroke's echo from a guest's serial shell, %d keys, %s%n", samples,
                    dev.scalebox.hypervisor.Accelerator.choose("auto").label());
            System.out.printf("%-40s %10s %10s%n", "path", "p50 ms", "p95 ms");
            System.out.printf("%-40s %10.1f %10.1f%n", "WebSocket /vms/{id}/console/ws",
                    keys.get("ws").get("p50_ms").asDouble(), keys.get("ws").get("p95_ms").asDouble());
            System.out.printf("%-40s %10.1f %10.1f%n", "polling GET /vms/{id}/console",
                    keys.get("poll").get("p50_ms").asDouble(), keys.get("poll").get("p95_ms").asDouble());
        } finally {
            for (String id : ids) {
                vms.delete(id);
            }
            env.close();
        }
    }

    /** Runs a web/test script; its last line of output, which is JSON. */
    private static JsonNode node(String script, Map<String, String> environment) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("node", script).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(environment);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(script + " failed:\n" + out);
        }
        return Json.MAPPER.readTree(out.substring(out.lastIndexOf('\n') + 1));
    }
}
