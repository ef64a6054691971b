package dev.scalebox.bench;

import dev.scalebox.api.Json;
import dev.scalebox.store.Database;
import dev.scalebox.store.VmStore;
import dev.scalebox.testing.Ports;
import dev.scalebox.testing.ScaleboxCli;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.ThrowawayPostgres;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /vms} of a real {@code scalebox serve} holding N VM records, with its store in SQLite
 * and in a throwaway PostgreSQL on this machine, side by side. The records are written straight
 * into the store (stopped VMs, no disks): what is measured is the read, the JSON and the HTTP.
 * Run by bench/store-reads.sh.
 */
public final class StoreReadsBench {

    private static final String TOKEN = "store-reads-bench-token-0123";
    private static final HttpClient http = HttpClient.newHttpClient();

    private record Result(String store, int records, double p50, double p95, double mean, int bytes) {
    }

    public static void main(String[] args) throws Exception {
        int records = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int samples = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "scalebox-bench-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
        List<Result> results = new ArrayList<>();
        try {
            Path sqliteDir = dir.resolve("sqlite");
            Files.createDirectories(sqliteDir);
            try (Database db = Database.openSqlite(sqliteDir.resolve("scalebox.db"), "bench")) {
                fill(db, records);
            }
            results.add(measure("SQLite", sqliteDir, Map.of(), records, samples));

            ThrowawayPostgres pg = ThrowawayPostgres.shared();
            String url = pg.newDatabase();
            try (Database db = Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()),
                    "bench")) {
                fill(db, records);
            }
            results.add(measure("PostgreSQL", dir.resolve("postgresql"), Map.of("STORE_URL", url,
                    "STORE_USER", ThrowawayPostgres.USER, "STORE_PASSWORD_FILE", pg.passwordFile().toString()), records,
                    samples));
        } finally {
            Sh.run("rm", "-rf", "--one-file-system", dir.toString());
        }
        System.out.printf("%nGET /vms with %d VM records, %d requests after 20 to warm up, one client, loopback%n",
                records, samples);
        System.out.printf("%-12s %8s %8s %8s %8s %10s%n", "store", "records", "p50 ms", "p95 ms", "mean ms", "bytes");
        for (Result r : results) {
            System.out.printf("%-12s %8d %8.1f %8.1f %8.1f %10d%n", r.store(), r.records(), r.p50(), r.p95(), r.mean(),
                    r.bytes());
        }
    }

    private static void fill(Database db, int records) {
        VmStore vms = db.vms();
        Instant t0 = Instant.parse("2026-12-01T00:00:00Z");
        for (int i = 0; i < records; i++) {
            VmStore.Row row = new VmStore.Row(String.format("vm-%012x", i), "bench-" + i, "debian-base", "stopped",
                    "stopped on request", 2, 2048, 2, 22001 + i, t0.plusSeconds(i), false, null, "internet", 80);
            if (!vms.insert(row)) {
                throw new IllegalStateException("could not insert " + row.name());
            }
        }
    }

    private static Result measure(String store, Path dataDir, Map<String, String> env, int records, int samples)
            throws Exception {
        int port = Ports.free();
        ProcessBuilder pb = ScaleboxCli.command("serve", "--data-dir", dataDir.toString(), "--port", Integer.toString(port));
        pb.environment().putAll(Map.of("API_TOKEN", TOKEN, "NETWORK", "user", "HOST_NAME", "bench",
                "GATEWAY_PORT", Integer.toString(Ports.free()), "POOL_VOLUMES_MIN_FREE", "0", "POOL_VOLUMES_MAX_FREE", "0",
                "POOL_INSTANCES_MIN_FREE", "0", "POOL_INSTANCES_MAX_FREE", "0", "TEMPLATE_SNAPSHOTS_MAX", "0",
                "PORT_MAX", "32000"));
        pb.environment().putAll(env);
        Path log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
        Process serve = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (!healthy(port)) {
                if (!serve.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("scalebox serve did not start:\n" + Files.readString(log));
                }
                Thread.sleep(200);
            }
            int bytes = 0;
            for (int i = 0; i < 20; i++) {
                bytes = list(port, records).length();
            }
            List<Double> ms = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                long start = System.nanoTime();
                list(port, records);
                ms.add((System.nanoTime() - start) / 1e6);
            }
            Collections.sort(ms);
            return new Result(store, records, ms.get(ms.size() / 2), ms.get((int) Math.ceil(ms.size() * 0.95) - 1),
                    ms.stream().mapToDouble(Double::doubleValue).average().orElse(0), bytes);
        } finally {
            serve.destroy();
            serve.waitFor(60, TimeUnit.SECONDS);
            serve.destroyForcibly();
        }
    }

    private static boolean healthy(int port) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException notYet) {
            return false;
        }
    }

    private static String list(int port, int records) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/vms"))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200 || Json.MAPPER.readTree(r.body()).size() != records) {
            throw new IllegalStateException("GET /vms answered " + r.statusCode() + " without the " + records + " VMs");
        }
        return r.body();
    }
}
