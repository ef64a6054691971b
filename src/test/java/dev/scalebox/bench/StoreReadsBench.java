package dev.scalebox.bench;

import dev.scalebox.api.Json;
import dev.scalebox.store.Database;
import dev.scalebox.store.VmStore;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.ThrowawayPostgres;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code GET /vms} of a real {@code scalebox serve} holding N VM records, with its store in SQLite
 * and in a throwaway PostgreSQL on this machine, side by side. The records are written straight
 * into the store (stopped VMs, no disks): what is measured is the read, the JSON and the HTTP.
 * Run by bench/store-reads.sh.
 */
public final class StoreReadsBench {

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
        try (BenchServe serve = BenchServe.start(dataDir, with(env))) {
            int bytes = 0;
            for (int i = 0; i < 20; i++) {
                bytes = list(serve, records).length();
            }
            List<Double> ms = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                long start = System.nanoTime();
                list(serve, records);
                ms.add((System.nanoTime() - start) / 1e6);
            }
            Percentiles p = Percentiles.of(ms);
            return new Result(store, records, p.p50(), p.p95(), p.mean(), bytes);
        }
    }

    private static Map<String, String> with(Map<String, String> env) {
        Map<String, String> all = new java.util.HashMap<>(env);
        all.putAll(Map.of("HOST_NAME", "bench", "PORT_MAX", "32000"));
        return all;
    }

    private static String list(BenchServe serve, int records) throws IOException, InterruptedException {
        HttpResponse<String> r = serve.send(serve.request("/vms").build());
        if (r.statusCode() != 200 || Json.MAPPER.readTree(r.body()).size() != records) {
            throw new IllegalStateException("GET /vms answered " + r.statusCode() + " without the " + records + " VMs");
        }
        return r.body();
    }
}
