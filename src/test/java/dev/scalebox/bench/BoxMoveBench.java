package dev.scalebox.bench;

import dev.scalebox.api.Json;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.Database;
import dev.scalebox.template.TemplateService;
import dev.scalebox.testing.BaseTemplate;
import dev.scalebox.testing.GoldenSeed;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.Ports;
import dev.scalebox.testing.ScaleboxCli;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestGateway;
import dev.scalebox.testing.ThrowawayPostgres;
import tools.jackson.databind.JsonNode;

import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A box with {@code OWN_MIB} MiB of its own data moved between two real hosts, each on a btrfs
 * pool of its own, sharing a throwaway PostgreSQL: to a host that lacks the base (the golden disk
 * goes first, whole), back to one that holds it, and beside them what the same volume sends with
 * no base at all. Bytes sent against the volume's size, and the time of each move through
 * {@code POST /boxes/{id}/move}. Run by bench/box-move.sh.
 */
public final class BoxMoveBench {

    public static void main(String[] args) throws Exception {
        int ownMib = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        List<LoopFs> pools = new ArrayList<>();
        List<String> rows = new ArrayList<>();
        Path scratch = LoopFs.tempDir();
        try {
            ThrowawayPostgres pg = ThrowawayPostgres.shared();
            String url = pg.newDatabase();
            Path secret = Files.writeString(scratch.resolve("cluster-secret"), "bench-cluster-secret-0123456789abcdef\n");
            Map<String, String> store = Map.of("STORE_URL", url, "STORE_USER", ThrowawayPostgres.USER,
                    "STORE_PASSWORD_FILE", pg.passwordFile().toString(), "CLUSTER_SECRET_FILE", secret.toString(),
                    "BOX_VCPUS", "2", "BOX_MEM_MIB", "512", "BOX_IDLE_SUSPEND", "3600", "HOST_HEARTBEAT_INTERVAL", "1");
            for (int i = 0; i < 2; i++) {
                LoopFs pool = LoopFs.btrfs(12L << 30);
                pools.add(pool);
                DataLayout layout = new DataLayout(pool.root());
                layout.createDirectories();
                for (String file : List.of("vmlinuz", "initrd.img", "cmdline")) {
                    Files.copy(BaseTemplate.get().layout.kernel().resolve(file), layout.kernel().resolve(file));
                }
            }
            Path alphaDir = pools.get(0).root();
            ProcessBuilder importing = ScaleboxCli.command("template", "import",
                    BaseTemplate.get().layout.templateImage(TemplateService.BASE).toString(), TemplateService.BASE,
                    "--data-dir", alphaDir.toString());
            importing.environment().putAll(store);
            importing.environment().put("HOST_NAME", "alpha");
            if (importing.inheritIO().start().waitFor() != 0) {
                throw new IllegalStateException("template import failed");
            }
            try (Database db = Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()),
                    "alpha")) {
                GoldenSeed.plantInto(new DataLayout(alphaDir), alphaDir.resolve("gateway"), "alpha", 22099,
                        row -> db.vms().insert(row));
            }
            int alphaGateway = Ports.free();
            int betaGateway = Ports.free();
            try (BenchServe alpha = BenchServe.start(alphaDir, with(store, "alpha", alphaGateway));
                 BenchServe beta = BenchServe.start(pools.get(1).root(), with(store, "beta", betaGateway))) {
                Path key = scratch.resolve("ada");
                Sh.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ada", "-f", key.toString());
                String user = json(alpha.send(alpha.request("/users").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"name\":\"ada\",\"ssh_public_key\":\"" + Files.readString(Path.of(key + ".pub")).strip()
                                + "\"}")).build()), 201).get("id").asString();
                ssh(alphaGateway, key, "head -c " + ownMib + "M /dev/urandom > /root/own && sync && echo written");
                json(alpha.send(alpha.request("/boxes/" + user + "/suspend").POST(HttpRequest.BodyPublishers.noBody()).build()), 200);
                rows.add(row("alpha -> beta, which lacks the base", move(alpha, user, "beta")));
                ssh(betaGateway, key, "test -s /root/own && echo resumed");
                json(beta.send(beta.request("/boxes/" + user + "/suspend").POST(HttpRequest.BodyPublishers.noBody()).build()), 200);
                JsonNode back = move(beta, user, "alpha");
                rows.add(row("beta -> alpha, which holds the base", back));
                String vm = back.get("box").get("vm_id").asString();
                ProgramRunner runner = new ProgramRunner();
                CountingSink whole = new CountingSink();
                long started = System.nanoTime();
                new StorageService(new DataLayout(alphaDir), runner, new Filesystems(runner)).volumes()
                        .send(vm, Optional.empty(), whole);
                rows.add(String.format("%-40s %12d %12s %12d %12d %8.2f", "the same volume with no base (whole)",
                        whole.bytes, "-", back.get("disk_bytes").asLong(), back.get("memory_bytes").asLong(),
                        (System.nanoTime() - started) / 1e9));
                long allocated = Long.parseLong(Sh.run("du", "-B1", new DataLayout(alphaDir).volumeImage(vm).toString())
                        .split("\\s+")[0]);
                System.out.printf("%nA box with %d MiB of its own data (disk allocated: %d bytes), moved between two hosts%n",
                        ownMib, allocated);
            }
        } finally {
            for (LoopFs pool : pools) {
                Sh.tryRun("pkill", "-9", "-f", "--", pool.root().toString());
            }
            Thread.sleep(500);
            pools.forEach(LoopFs::close);
            LoopFs.deleteTree(scratch);
        }
        System.out.printf("%-40s %12s %12s %12s %12s %8s%n", "move", "bytes sent", "base sent", "disk bytes", "memory bytes",
                "seconds");
        rows.forEach(System.out::println);
        System.exit(0);
    }

    private static JsonNode move(BenchServe from, String user, String to) throws Exception {
        return json(from.send(from.request("/boxes/" + user + "/move").POST(HttpRequest.BodyPublishers.ofString(
                "{\"host\":\"" + to + "\"}")).build()), 200);
    }

    private static String row(String label, JsonNode moved) {
        return String.format("%-40s %12d %12d %12d %12d %8.2f", label, moved.get("bytes_sent").asLong(),
                moved.get("base_bytes_sent").asLong(), moved.get("disk_bytes").asLong(), moved.get("memory_bytes").asLong(),
                moved.get("seconds").asDouble());
    }

    private static Map<String, String> with(Map<String, String> store, String host, int gatewayPort) {
        Map<String, String> env = new HashMap<>(store);
        env.put("HOST_NAME", host);
        env.put("GATEWAY_PORT", Integer.toString(gatewayPort));
        return env;
    }

    private static void ssh(int port, Path key, String command) {
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", Integer.toString(port)));
        argv.addAll(TestGateway.clientOptions(key));
        argv.addAll(List.of("box@127.0.0.1", command));
        new ProgramRunner().check(argv, Duration.ofMinutes(15));
    }

    private static JsonNode json(HttpResponse<String> r, int status) {
        if (r.statusCode() != status) {
            throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
        return Json.MAPPER.readTree(r.body());
    }

    private static final class CountingSink extends OutputStream {
        long bytes;

        @Override
        public void write(int b) {
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes += len;
        }
    }
}
