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

    private String postgresUrl;

    private Database open(String vendor) {
        return open(vendor, "alpha");
    }

    /** This test's store, on SQLite or PostgreSQL, as host {@code host} sees it. */
    private Database open(String vendor, String host) {
        if (vendor.equals("sqlite")) {
            return Database.openSqlite(dir.resolve("scalebox.db"), host);
        }
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        if (postgresUrl == null) {
            postgresUrl = pg.newDatabase();
        }
        return Database.openPostgres(postgresUrl, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()), host);
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
                    "ssh-ed25519 AAAA host", "alpha"));
            assertThat(vms.find(one.id())).contains(read);
            assertThat(vms.list()).extracting(VmStore.Row::name).containsExactly("uno", "four");
            vms.delete(one.id());
            assertThat(vms.list()).extracting(VmStore.Row::name).containsExactly("four");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void eachHostListsItsOwnVmsAndTemplatesAndFindsEveryHostsVms(String vendor) {
        try (Database alpha = open(vendor, "alpha"); Database beta = open(vendor, "beta")) {
            assertThat(alpha.vms().insert(vm("vm-000000000001", "one", 22001))).isTrue();
            assertThat(beta.vms().insert(vm("vm-000000000002", "two", 22002))).isTrue();
            assertThat(beta.vms().insert(vm("vm-000000000003", "one", 22003))).as("names span the hosts").isFalse();

            assertThat(alpha.vms().list()).extracting(VmStore.Row::name).containsExactly("one");
            assertThat(beta.vms().list()).extracting(VmStore.Row::name).containsExactly("two");
            assertThat(alpha.vms().listAll()).extracting(VmStore.Row::host).containsExactly("alpha", "beta");
            assertThat(beta.vms().find("one")).map(VmStore.Row::host).contains("alpha");
            assertThat(beta.vms().countByHost()).isEqualTo(java.util.Map.of("alpha", 1L, "beta", 1L));

            TemplateStore.Row base = new TemplateStore.Row("debian-base", 2L << 30, T0, true, "built");
            alpha.templates().put(base);
            assertThat(beta.templates().list()).as("beta holds no copy").isEmpty();
            assertThat(beta.templates().find("debian-base")).isEmpty();
            beta.templates().put(base);
            assertThat(alpha.templates().delete("debian-base")).isTrue();
            assertThat(alpha.templates().list()).isEmpty();
            assertThat(beta.templates().list()).as("beta's copy keeps the record").containsExactly(base);
            assertThat(beta.templates().delete("debian-base")).isTrue();
            assertThat(beta.templates().listAll()).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void recordsOfNoHostGoToTheFirstHostToAdoptThem(String vendor) {
        try (Database alpha = open(vendor, "alpha"); Database beta = open(vendor, "beta")) {
            alpha.vms().insert(vm("vm-000000000001", "one", 22001));
            alpha.templates().put(new TemplateStore.Row("debian-base", 2L << 30, T0, true, "built"));
            alpha.update("forget hosts", "UPDATE vms SET host = NULL");
            alpha.update("forget hosts", "DELETE FROM template_hosts");
            beta.vms().insert(vm("vm-000000000002", "two", 22002));

            alpha.adoptUnowned();
            assertThat(alpha.vms().list()).extracting(VmStore.Row::name)
                    .as("SQLite is one host's: it takes all; PostgreSQL only what no host has")
                    .containsExactlyElementsOf(vendor.equals("sqlite") ? java.util.List.of("one", "two") : java.util.List.of("one"));
            assertThat(alpha.templates().list()).extracting(TemplateStore.Row::name).containsExactly("debian-base");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void aHostIsMarkedDownOnlyWhileItsBeatsHaveNotMovedAndIsUpAgainWithItsNextBeat(String vendor) {
        try (Database db = open(vendor)) {
            HostStore hosts = db.hosts();
            hosts.beat(host("alpha"));
            hosts.beat(host("alpha"));
            HostStore.Row seen = hosts.find("alpha").orElseThrow();
            assertThat(seen.beats()).isEqualTo(2);
            assertThat(seen.state()).isEqualTo("up");
            assertThat(seen).usingRecursiveComparison().ignoringFields("beats").isEqualTo(host("alpha"));

            assertThat(hosts.markDown("alpha", 1, "stale")).as("it beat since").isFalse();
            assertThat(hosts.markDown("alpha", 2, "no heartbeat for 30 s")).isTrue();
            assertThat(hosts.markDown("alpha", 2, "again")).as("already down").isFalse();
            assertThat(hosts.find("alpha")).map(HostStore.Row::stateReason).contains("no heartbeat for 30 s");

            hosts.beat(host("alpha"));
            assertThat(hosts.find("alpha").orElseThrow()).extracting(HostStore.Row::state, HostStore.Row::stateReason)
                    .containsExactly("up", null);
            assertThat(hosts.list()).extracting(HostStore.Row::name).containsExactly("alpha");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgresql"})
    void theBoxPoolsTotalsAreOneRowThatTheLastLeaderKept(String vendor) {
        try (Database db = open(vendor)) {
            HostStore hosts = db.hosts();
            assertThat(hosts.totals()).isEmpty();
            HostStore.BoxPoolTotals first = new HostStore.BoxPoolTotals(2, new HostStore.BoxPool(1, 2, 3, 8, 5, 16), "alpha", T0);
            hosts.keepTotals(first);
            assertThat(hosts.totals()).contains(first);
            HostStore.BoxPoolTotals next = new HostStore.BoxPoolTotals(1, new HostStore.BoxPool(0, 1, 1, 4, 2, 8), "beta",
                    T0.plusSeconds(3));
            hosts.keepTotals(next);
            assertThat(hosts.totals()).contains(next);
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
             Database into = Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of(pg.password()),
                     "alpha")) {
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
    void aLockIsHeldByOneHostUntilItIsGivenUpAndThenAnotherTakesIt() {
        try (Database alpha = open("postgresql", "alpha"); Database beta = open("postgresql", "beta")) {
            Database.SessionLock held = alpha.tryLock(Database.LEADER_LOCK).orElseThrow();
            assertThat(held.held()).isTrue();
            assertThat(beta.tryLock(Database.LEADER_LOCK)).isEmpty();
            alpha.claim();
            try (Database again = open("postgresql", "alpha")) {
                assertThatThrownBy(again::claim)
                        .isInstanceOf(ScaleboxException.Conflict.class)
                        .hasMessageContaining("host 'alpha' of the store PostgreSQL").hasMessageContaining("is served by another");
            }

            held.close();
            Database.SessionLock taken = beta.tryLock(Database.LEADER_LOCK)
                    .orElseThrow(() -> new AssertionError("the lock stayed with alpha's pooled connection"));
            assertThat(alpha.tryLock(Database.LEADER_LOCK)).as("held by beta now").isEmpty();
            taken.close();
        }
    }

    @Test
    void aServerThatRefusesTheLoginIsNamedAndNothingIsLeftOpen() {
        ThrowawayPostgres pg = ThrowawayPostgres.shared();
        String url = pg.newDatabase();
        assertThatThrownBy(() -> Database.openPostgres(url, Optional.of(ThrowawayPostgres.USER), Optional.of("wrong"), "alpha"))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("cannot connect to " + url)
                .hasMessageContaining("password authentication failed");
    }

    private static HostStore.Row host(String name) {
        return new HostStore.Row(name, "http://10.0.0.1:8080", "10.0.0.1", "up", null, 2, 24_000, 20_000, 100L << 30,
                80L << 30, 1250, "QEMU emulator version 7.2.19", "tcg: max", 1, T0, T0.plusSeconds(5), "10.0.0.1:2222", "ecdsa-sha2-nistp256 AAAA",
                new HostStore.BoxPool(1, 2, 3, 4, 5, 6));
    }

    private static VmStore.Row vm(String id, String name, int port) {
        return new VmStore.Row(id, name, "debian-base", "creating", null, 2, 2048, 2, port,
                T0.truncatedTo(ChronoUnit.MICROS), true, null, "internet", 8080);
    }
}
