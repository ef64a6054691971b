package dev.scalebox.bench;

import dev.scalebox.testing.ScaleboxCli;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.ThrowawayPostgres;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code POST /vms} on two real hosts sharing a throwaway PostgreSQL: sent to the host that holds
 * the template and places it on itself, against sent to the other one, which places it there and
 * passes the create on. Creates alternate between the two, and each VM is deleted again at once
 * (its template is a bare ext4 image, so it is never meant to boot). Run by bench/hosts.sh.
 */
public final class HostsBench {

    private static final String KEY =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@hosts";

    public static void main(String[] args) throws Exception {
        int creates = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "scalebox-bench-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
        List<Double> local = new ArrayList<>();
        List<Double> passedOn = new ArrayList<>();
        try {
            ThrowawayPostgres pg = ThrowawayPostgres.shared();
            Path secret = Files.writeString(dir.resolve("cluster-secret"), "bench-cluster-secret-0123456789abcdef\n");
            Map<String, String> store = Map.of("STORE_URL", pg.newDatabase(), "STORE_USER", ThrowawayPostgres.USER,
                    "STORE_PASSWORD_FILE", pg.passwordFile().toString(), "CLUSTER_SECRET_FILE", secret.toString());
            importTemplate(dir, dir.resolve("alpha"), host(store, "alpha"));
            try (BenchServe alpha = BenchServe.start(dir.resolve("alpha"), host(store, "alpha"));
                 BenchServe beta = BenchServe.start(dir.resolve("beta"), host(store, "beta"))) {
                for (int i = 0; i < creates + 3; i++) {
                    double here = create(alpha, alpha, "local-" + i);
                    double there = create(beta, alpha, "passed-" + i);
                    if (i >= 3) {
                        local.add(here);
                        passedOn.add(there);
                    }
                }
            }
        } finally {
            Sh.run("rm", "-rf", "--one-file-system", dir.toString());
        }
        System.out.printf("%nPOST /vms to 201 on two hosts sharing PostgreSQL, %d creates each after 3 to warm up%n", creates);
        System.out.printf("%-36s %8s %8s %8s%n", "path", "p50 ms", "p95 ms", "mean ms");
        print("to the host that places it locally", Percentiles.of(local));
        print("to a host that passes it on", Percentiles.of(passedOn));
    }

    private static void print(String label, Percentiles p) {
        System.out.printf("%-36s %8.1f %8.1f %8.1f%n", label, p.p50(), p.p95(), p.mean());
    }

    /** Creates a VM through {@code via} and returns the milliseconds to its 201; deletes it again through {@code owner}. */
    private static double create(BenchServe via, BenchServe owner, String name) throws Exception {
        HttpRequest post = via.request("/vms").POST(HttpRequest.BodyPublishers.ofString("{\"template\":\"tiny\","
                + "\"ssh_public_key\":\"" + KEY + "\",\"name\":\"" + name + "\",\"vcpu_count\":1,\"mem_size_mib\":128,"
                + "\"disk_size_gib\":1}")).build();
        long start = System.nanoTime();
        HttpResponse<String> made = via.send(post);
        double ms = (System.nanoTime() - start) / 1e6;
        if (made.statusCode() != 201 || !made.body().contains("\"host\":\"alpha\"")) {
            throw new IllegalStateException("create through port " + via.port + ": " + made.statusCode() + " " + made.body());
        }
        HttpResponse<String> gone = owner.send(owner.request("/vms/" + name).DELETE().build());
        if (gone.statusCode() != 204) {
            throw new IllegalStateException("delete of " + name + ": " + gone.statusCode() + " " + gone.body());
        }
        return ms;
    }

    private static void importTemplate(Path dir, Path dataDir, Map<String, String> env) throws Exception {
        Path image = dir.resolve("tiny.ext4");
        Files.createDirectories(dir.resolve("tiny/root/.ssh"));
        Sh.run("truncate", "-s", "32M", image.toString());
        Sh.run("mkfs.ext4", "-q", "-F", "-d", dir.resolve("tiny").toString(), image.toString());
        ProcessBuilder pb = ScaleboxCli.command("template", "import", image.toString(), "tiny", "--data-dir",
                dataDir.toString());
        pb.environment().putAll(env);
        Process p = pb.redirectErrorStream(true).redirectOutput(dir.resolve("import.log").toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("template import failed:\n" + Files.readString(dir.resolve("import.log")));
        }
    }

    private static Map<String, String> host(Map<String, String> store, String name) {
        Map<String, String> env = new HashMap<>(store);
        env.put("HOST_NAME", name);
        return env;
    }
}
