package dev.scalebox.bench;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.api.Json;
import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.TestVms;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.VmService;
import tools.jackson.databind.JsonNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A burst on a small host, twice side by side: with the admission of starts (the default limit,
 * the host's cores) and with everything let in at once ({@code MAX_CONCURRENT_STARTS=1000}).
 * Each time: 10 VMs created at once through the real HTTP API (1 vCPU, 512 MiB), timed from the
 * request to {@code running}; then 8 new users at once at the real gateway with the real OpenSSH
 * client, timed to the end of their first command (each box a copy of the golden state, made
 * unique while its user waits). Failures are VMs that ended in error or stopped, and ssh that
 * failed; reboots are guests found stuck and booted once more. Run by bench/load.sh.
 */
public final class LoadBench {

    private static final String TOKEN = "load-bench-token-0123456789";
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final Duration GIVE_UP = Duration.ofMinutes(30);

    private record Burst(double[] seconds, int failures, int reboots) {
        double last() {
            return Arrays.stream(seconds).max().orElse(Double.NaN);
        }

        double p50() {
            double[] sorted = Arrays.stream(seconds).filter(s -> !Double.isNaN(s)).sorted().toArray();
            return sorted.length == 0 ? Double.NaN : sorted[sorted.length / 2];
        }
    }

    public static void main(String[] args) throws Exception {
        int creates = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int users = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int cores = Runtime.getRuntime().availableProcessors();
        Admission admitted = new Admission(Admission.defaultLimit(cores));
        Admission allAtOnce = new Admission(1000);

        Burst vmsAdmitted = creates("load-a", 28001, admitted, creates);
        Burst vmsAtOnce = creates("load-b", 28201, allAtOnce, creates);
        Burst usersAdmitted = users("load-c", 28401, admitted, users);
        Burst usersAtOnce = users("load-d", 28601, allAtOnce, users);

        System.out.printf("%nA burst on %d cores (TCG): with admission (MAX_CONCURRENT_STARTS=%d) and all at once (1000)%n%n",
                cores, admitted.limit());
        System.out.printf("%-44s %14s %14s%n", "", "admission", "all at once");
        row(creates + " API creates (1 vCPU, 512 MiB): last running s", vmsAdmitted.last(), vmsAtOnce.last());
        row(creates + " API creates: p50 to running s", vmsAdmitted.p50(), vmsAtOnce.p50());
        count(creates + " API creates: failures", vmsAdmitted.failures(), vmsAtOnce.failures());
        count(creates + " API creates: booted again (stuck)", vmsAdmitted.reboots(), vmsAtOnce.reboots());
        row(users + " new gateway users: last prompt s", usersAdmitted.last(), usersAtOnce.last());
        row(users + " new gateway users: p50 s", usersAdmitted.p50(), usersAtOnce.p50());
        count(users + " new gateway users: failures", usersAdmitted.failures(), usersAtOnce.failures());
        System.exit(0);
    }

    private static void row(String what, double a, double b) {
        System.out.printf("%-44s %14.1f %14.1f%n", what, a, b);
    }

    private static void count(String what, int a, int b) {
        System.out.printf("%-44s %14d %14d%n", what, a, b);
    }

    /** {@code count} creates at once over HTTP; each timed from its request to the first look that sees it running. */
    private static Burst creates(String name, int portMin, Admission line, int count) throws Exception {
        TestVms env = new TestVms(name, portMin);
        VmService vms = env.service(line);
        AtomicInteger reboots = new AtomicInteger();
        vms.onEvents(new VmService.Events() {
            @Override
            public void stuck(String vmId, String reason, boolean again) {
                reboots.incrementAndGet();
            }
        });
        try (ApiServer server = ApiServer.start("127.0.0.1", 0, ApiToken.resolve(Optional.of(TOKEN), Path.of("/nonexistent")),
                new ApiServer.Services(env.templates, vms, env.storage, "tcg", null, null))) {
            String base = "http://127.0.0.1:" + server.port();
            String body = "{\"template\":\"debian-base\",\"ssh_public_key\":\"" + env.publicKey
                    + "\",\"vcpu_count\":1,\"mem_size_mib\":512}";
            long start = System.nanoTime();
            List<CompletableFuture<String>> answers = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                answers.add(CompletableFuture.supplyAsync(() -> send(base, "POST", "/vms", body),
                        r -> Thread.ofVirtual().start(r)));
            }
            List<String> ids = new ArrayList<>();
            for (var answer : answers) {
                ids.add(Json.MAPPER.readTree(answer.get()).get("id").asString());
            }
            Map<String, Double> running = new HashMap<>();
            int failures = 0;
            while (running.size() + failures < count && System.nanoTime() - start < GIVE_UP.toNanos()) {
                failures = 0;
                for (JsonNode vm : Json.MAPPER.readTree(send(base, "GET", "/vms", null))) {
                    String id = vm.get("id").asString();
                    switch (vm.get("status").asString()) {
                        case "running" -> running.putIfAbsent(id, (System.nanoTime() - start) / 1e9);
                        case "error", "stopped" -> failures++;
                        default -> { }
                    }
                }
                Thread.sleep(250);
            }
            for (String id : ids) {
                send(base, "DELETE", "/vms/" + id, null);
            }
            double[] seconds = ids.stream().mapToDouble(id -> running.getOrDefault(id, Double.NaN)).toArray();
            return new Burst(seconds, (int) Arrays.stream(seconds).filter(Double::isNaN).count(), reboots.get());
        } finally {
            env.close();
        }
    }

    /** {@code count} new users at once, each timed from starting ssh to the end of its first command. */
    private static Burst users(String name, int portMin, Admission line, int count) throws Exception {
        try (TestGateway box = new TestGateway(name, portMin, Duration.ofHours(1), 0, 0, Duration.ofHours(1), 50, 50, line)) {
            // the golden state is made before the clock starts: a first user, not timed
            Path first = box.addUser("first");
            ssh(first, box.gateway.port());
            List<Path> keys = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                keys.add(box.addUser("user-" + i));
            }
            List<CompletableFuture<Double>> sessions = keys.stream().map(k -> CompletableFuture.supplyAsync(() -> {
                long start = System.nanoTime();
                return ssh(k, box.gateway.port()) ? (System.nanoTime() - start) / 1e9 : Double.NaN;
            }, r -> Thread.ofVirtual().start(r))).toList();
            double[] seconds = new double[count];
            for (int i = 0; i < count; i++) {
                seconds[i] = sessions.get(i).get();
            }
            return new Burst(seconds, (int) Arrays.stream(seconds).filter(Double::isNaN).count(), 0);
        }
    }

    private static boolean ssh(Path key, int port) {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(port)));
        argv.addAll(TestGateway.clientOptions(key));
        argv.addAll(List.of("box@127.0.0.1", "true"));
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    private static String send(String base, String method, String path, String body) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + TOKEN)
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
