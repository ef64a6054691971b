package dev.scalebox.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The store: SQLite in the data directory by default (WAL, so readers never wait for the writer),
 * migrated with Flyway from {@code db/migration/common} and the vendor's own folder. Open it once
 * per process and share it.
 */
public final class Database {

    private final DataSource dataSource;

    private Database(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Opens (creating when absent) and migrates the SQLite database at {@code file}. */
    public static Database openSqlite(Path file) {
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setBusyTimeout(10_000);
        config.enforceForeignKeys(true);
        SQLiteDataSource sqlite = new SQLiteDataSource(config);
        sqlite.setUrl("jdbc:sqlite:" + file.toAbsolutePath());
        // Opening an SQLite connection reads the schema and sets the pragmas: a few milliseconds
        // that every create would pay several times over without a pool.
        HikariConfig pool = new HikariConfig();
        pool.setDataSource(sqlite);
        pool.setPoolName("scalebox-sqlite");
        pool.setMaximumPoolSize(4);
        pool.setMinimumIdle(1);
        HikariDataSource ds = new HikariDataSource(pool);
        Flyway.configure()
                .dataSource(ds)
                .locations("classpath:db/migration/common", "classpath:db/migration/sqlite")
                .failOnMissingLocations(false)
                .load()
                .migrate();
        return new Database(ds);
    }

    public Connection connection() throws SQLException {
        return dataSource.getConnection();
    }

    public TemplateStore templates() {
        return new TemplateStore(this);
    }

    public VmStore vms() {
        return new VmStore(this);
    }

    public UserStore users() {
        return new UserStore(this);
    }
}
