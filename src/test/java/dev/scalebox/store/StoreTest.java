package dev.scalebox.store;

import dev.scalebox.ScaleboxException;
import dev.scalebox.testing.ThrowawayPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every record of the store, on SQLite and on a real PostgreSQL, through the one migration set. */
class StoreTest {

    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00.123456Z");

    @TempDir
    Path dir;

    private Database open(String vendor) {
        if (vendor.equals("sqlite")) {
            return Database.openSqlite(dir.resolve("scalebox.db"));
        }
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        return Database.openPostgres(pg.newDatabase(), Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void templatesAreKeptReplacedAndRemoved(String vendor) {
        try (Database db = open(vendor)) {
            TemplateStore templates = db.templates();
            templates.put(new TemplateStore.Row("debian-base", 2L << 30, T0, true, "built"));
            templates.put(new TemplateStore.Row("app", 5L << 30, T0.plusSeconds(1), false, "snapshot"));
            templates.put(new TemplateStore.Row("app", 6L << 30, T0.plusSeconds(2), false, "imported"));

            assertThat(templates.list()).containsExactly(
                    new TemplateStore.Row("app", 6L << 30, T0.plusSeconds(2), false, "imported"),
                    new TemplateStore.Row("debian-base", 2L << 30, T0, true, "built"));
            assertThat(templates.delete("app")).isTrue();
            assertThat(templates.delete("app")).isFalse();
            assertThat(templates.find("app")).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void vmsKeepEveryFieldAndNeverShareANameOrAPort(String vendor) {
        try (Database db = open(vendor)) {
            VmStore vms = db.vms();
            VmStore.Row one = vm("vm-000000000001", "one", 22001);
            assertThat(vms.insert(one)).isTrue();
            assertThat(vms.insert(vm("vm-000000000002", "one", 22002))).as("the same name").isFalse();
            assertThat(vms.insert(vm("vm-000000000003", "three", 22001))).as("the same port").isFalse();
            assertThat(vms.insert(vm("vm-000000000004", "four", 22004))).isTrue();

            vms.update(one.withStatus("stopped", "stopped by the user").withSizes(4, 4096, 10));
            vms.setNetwork(one.id(), "10.77.0.9", "none");
            vms.setStart(one.id(), "snapshot", "ssh-ed25519 AAAA host");
            vms.setStart(one.id(), "boot", null);
            assertThat(vms.rename(one.id(), "four")).isFalse();
            assertThat(vms.rename(one.id(), "uno")).isTrue();

            VmStore.Row read = vms.find("uno").orElseThrow();
            assertThat(read).isEqualTo(new VmStore.Row("vm-000000000001", "uno", "debian-base", "stopped",
                    "stopped by the user", 4, 4096, 10, 22001, T0, true, "10.77.0.9", "none", 8080, "boot",
                    "ssh-ed25519 AAAA host"));
            assertThat(vms.find(one.id())).contains(read);
            assertThat(vms.list()).extracting(VmStore.Row::name).containsExactly("uno", "four");
            vms.delete(one.id());
            assertThat(vms.list()).extracting(VmStore.Row::name).containsExactly("four");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void usersAreUniqueByKeyAndByName(String vendor) {
        try (Database db = open(vendor)) {
            UserStore users = db.users();
            assertThat(users.insert(new UserStore.Row("u-1", "ada", "ssh-ed25519 AAAA ada", T0))).isTrue();
            assertThat(users.insert(new UserStore.Row("u-1", "bob", "ssh-ed25519 AAAA ada", T0))).isFalse();
            assertThat(users.insert(new UserStore.Row("u-2", "ada", "ssh-ed25519 AAAA bob", T0))).isFalse();
            assertThat(users.list()).containsExactly(new UserStore.Row("u-1", "ada", "ssh-ed25519 AAAA ada", T0));
            users.delete("u-1");
            assertThat(users.find("ada")).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void theStorageJournalNumbersItsEntriesInOrder(String vendor) {
        try (Database db = open(vendor)) {
            StorageJournal journal = db.storageJournal();
            journal.add("/etc/scalebox/storage.yaml", "apply", "applied", "[]", T0);
            journal.add("/etc/scalebox/storage.yaml", "dry-run", "planned", "[{\"op\":\"mkdir\"}]", T0.plusSeconds(5));
            assertThat(journal.list()).extracting(StorageJournal.Entry::id, StorageJournal.Entry::mode)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, "apply"),
                            org.assertj.core.groups.Tuple.tuple(2L, "dry-run"));
        }
    }

    @Test
    void aCopyTakesEveryRecordIntoAnEmptyPostgresqlAndRefusesOneThatHoldsRecords() {
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        String url = pg.newDatabase();
        try (Database sqlite = open("sqlite");
             Database into = Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()))) {
            sqlite.templates().put(new TemplateStore.Row("debian-base", 2L << 30, T0, true, "built"));
            sqlite.users().insert(new UserStore.Row("u-1", "ada", "ssh-ed25519 AAAA ada", T0));
            sqlite.vms().insert(vm("vm-000000000001", "one", 22001));
            sqlite.vms().setStart("vm-000000000001", "snapshot", "ssh-ed25519 AAAA host");
            sqlite.vms().insert(vm("vm-000000000002", "two", 22002));

            assertThat(StoreCopy.copy(sqlite, into)).isEqualTo(new StoreCopy.Counts(1, 1, 2));
            assertThat(into.templates().list()).isEqualTo(sqlite.templates().list());
            assertThat(into.users().list()).isEqualTo(sqlite.users().list());
            assertThat(into.vms().list()).isEqualTo(sqlite.vms().list());

            sqlite.vms().insert(vm("vm-000000000003", "three", 22003));
            assertThatThrownBy(() -> StoreCopy.copy(sqlite, into))
                    .isInstanceOf(ScaleboxException.Conflict.class)
                    .hasMessageContaining("already holds 1 templates, 1 users and 2 VMs");
            assertThat(into.vms().list()).hasSize(2);
        }
    }

    @Test
    void aServerThatRefusesTheLoginIsNamedAndNothingIsLeftOpen() {
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        String url = pg.newDatabase();
        assertThatThrownBy(() -> Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of("wrong")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("cannot connect to " + url)
                .hasMessageContaining("password authentication failed");
    }

    private static VmStore.Row vm(String id, String name, int port) {
        return new VmStore.Row(id, name, "debian-base", "creating", null, 2, 2048, 2, port,
                T0.truncatedTo(ChronoUnit.MICROS), true, null, "internet", 8080);
    }
}
