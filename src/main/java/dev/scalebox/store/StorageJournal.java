package dev.scalebox.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;

/** Every storage apply: its file, mode, outcome and the changes it made (JSON, in order). */
public final class StorageJournal {

    public record Entry(long id, String file, String mode, String outcome, String changes, Instant appliedAt) {
    }

    private final Database db;

    StorageJournal(Database db) {
        this.db = db;
    }

    public void add(String file, String mode, String outcome, String changes, Instant at) {
        db.update("journal a storage apply", "INSERT INTO storage_applies (id, file, mode, outcome, changes, applied_at)"
                + " VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM storage_applies), ?, ?, ?, ?, ?)",
                file, mode, outcome, changes, at.toString());
    }

    public List<Entry> list() {
        return db.query("read the storage journal", "SELECT * FROM storage_applies ORDER BY id", StorageJournal::row);
    }

    private static Entry row(ResultSet rs) throws SQLException {
        return new Entry(rs.getLong("id"), rs.getString("file"), rs.getString("mode"), rs.getString("outcome"),
                rs.getString("changes"), Instant.parse(rs.getString("applied_at")));
    }
}
