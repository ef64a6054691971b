package dev.scalebox.cli;

import dev.scalebox.storage.DataDirLock;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.config.HostName;
import dev.scalebox.store.Database;
import dev.scalebox.store.TemplateStore;
import dev.scalebox.store.UserStore;
import dev.scalebox.store.VmStore;
import dev.scalebox.testing.ThrowawayPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.parallel.Resources;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code scalebox store migrate --to URL}: a host's SQLite records into a real PostgreSQL. The
 * command's output is read by swapping System.out and System.err, which no other test class that
 * swaps them may do meanwhile.
 */
@ResourceLock(Resources.SYSTEM_OUT)
@ResourceLock(Resources.SYSTEM_ERR)
class StoreMigrateTest {

    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    @TempDir
    Path dataDir;

    @Test
    void theRecordsOfAHostGoIntoAnEmptyDatabaseOnceAndTheSqliteFileIsKept() throws Exception {
        DataLayout layout = new DataLayout(dataDir);
        try (Database sqlite = Database.openSqlite(layout.database())) {
            sqlite.templates().put(new TemplateStore.Row("debian-base", 2L << 30, T0, true, "built"));
            sqlite.users().insert(new UserStore.Row("u-1", "ada", "ssh-ed25519 AAAA ada", T0));
            sqlite.vms().insert(new VmStore.Row("vm-000000000001", "one", "debian-base", "running", null, 2, 2048, 2,
                    22001, T0, false, "10.77.0.2", "internet", 80));
        }
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        String url = pg.newDatabase();
        String[] migrate = {"store", "migrate", "--data-dir", dataDir.toString(), "--to", url,
                "--user", ThrowawayPostgres.USER, "--password-file", pg.passwordFile().toString()};

        Run first = run(migrate);
        assertThat(first.code).as(first.err).isZero();
        assertThat(first.out).contains("Copied 1 templates, 1 users and 1 VMs").contains("STORE_URL=" + url);
        try (Database into = Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()),
                HostName.ofMachine());
             Database sqlite = Database.openSqlite(layout.database())) {
            assertThat(into.vms().list()).isEqualTo(sqlite.vms().list()).hasSize(1);
            assertThat(into.users().list()).isEqualTo(sqlite.users().list()).hasSize(1);
            assertThat(into.templates().list()).isEqualTo(sqlite.templates().list()).hasSize(1);
        }

        Run again = run(migrate);
        assertThat(again.code).isEqualTo(1);
        assertThat(again.err).contains("already holds 1 templates, 1 users and 1 VMs; copy into an empty database");

        try (DataDirLock serving = DataDirLock.owner(layout, "scalebox serve")) {
            Run whileServing = run("store", "migrate", "--data-dir", dataDir.toString(), "--to", pg.newDatabase(),
                    "--user", ThrowawayPostgres.USER, "--password-file", pg.passwordFile().toString());
            assertThat(whileServing.code).isEqualTo(1);
            assertThat(whileServing.err).contains("is in use by scalebox serve");
        }
    }

    @Test
    void aWrongUrlOrAMissingStoreIsRefusedAndNothingIsMade() {
        Run wrongUrl = run("store", "migrate", "--data-dir", dataDir.toString(), "--to", "postgres://db/scalebox");
        assertThat(wrongUrl.code).isEqualTo(1);
        assertThat(wrongUrl.err).contains("STORE_URL").contains("must be jdbc:postgresql://HOST[:PORT]/DATABASE");

        Run noStore = run("store", "migrate", "--data-dir", dataDir.toString(), "--to", "jdbc:postgresql://127.0.0.1/x");
        assertThat(noStore.code).isEqualTo(1);
        assertThat(noStore.err).contains("there is no SQLite store at " + dataDir.resolve("scalebox.db"));
        assertThat(dataDir).isEmptyDirectory();
    }

    private record Run(int code, String out, String err) {
    }

    private static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }
}
